"""``reslab reset``: tear one lab down and deploy it again (same install, same event)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from reslab.cli import deploy_cmds
from reslab.cli.options import EVENT_FILE, INSTALL_BASE_NAME, LOCAL


def reset(
    local: bool = LOCAL,
    event_file: Path | None = EVENT_FILE,
    workshop: str | None = typer.Option(None, "--workshop", help="Override the workshop tag."),
    name: str = INSTALL_BASE_NAME,
) -> None:
    """Tear one lab down and deploy it again (same install, same event)."""
    is_local = deploy_cmds.use_local(local)
    event = deploy_cmds.resolve_event(event_file, is_local, name, {"workshop": workshop})
    with deploy_cmds.target(is_local, None, None) as tgt:
        for machine in ("teardown", "deploy"):
            outcome = deploy_cmds.run_machine(tgt, name, event, machine, False)
            outcome.raise_for_status()
        deploy_cmds.print_summary(tgt, event, Console(soft_wrap=True))


def register(app: typer.Typer) -> None:
    app.command("reset")(reset)
