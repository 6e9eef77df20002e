"""``reslab reset``: tear one lab down and deploy it again (same install, same event)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from reslab.cli import deploy_cmds, options
from reslab.cli.options import EVENT_FILE, INSTALL_BASE_NAME, LOCAL, lab_overrides


def reset(
    local: bool = LOCAL,
    event_file: Path | None = EVENT_FILE,
    as_json: bool = options.JSON,
    region: str | None = options.REGION,
    workshop: str | None = options.WORKSHOP,
    stack_prefix: str | None = options.STACK_PREFIX,
    name: str = INSTALL_BASE_NAME,
) -> None:
    """Tear one lab down and deploy it again (same install, same event)."""
    is_local = deploy_cmds.use_local(local)
    overrides = lab_overrides(region, workshop, stack_prefix)
    event = deploy_cmds.resolve_event(event_file, is_local, name, overrides)
    results = []
    with deploy_cmds.target(is_local, None, None) as tgt:
        for machine in ("teardown", "deploy"):
            outcome = deploy_cmds.run_machine(tgt, name, event, machine, False)
            results.append({"machine": machine, **outcome.to_json()})
            if outcome.status != "SUCCEEDED":
                break
        if as_json:
            print(json.dumps(results, indent=2, default=str))
        deploy_cmds.print_summary(tgt, event, Console(stderr=as_json, soft_wrap=True))
    outcome.raise_for_status()


def register(app: typer.Typer) -> None:
    app.command("reset")(reset)
