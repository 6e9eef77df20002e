"""``reslab mode fragile|resilient``: switch the running lab's web app (a web stack update)."""

from __future__ import annotations

import json

import typer
from rich.console import Console

from reslab.cli.deploy_cmds import AWS_POLL_SECONDS, lab_event, target
from reslab.cli.options import LabOptions, lab_command
from reslab.event import validate_event


@lab_command
def mode(
    lab: LabOptions,
    new_mode: str = typer.Argument(..., metavar="MODE", help="fragile or resilient."),
) -> None:
    """Switch the web app between fragile and resilient: updates the web stack's WebAppMode
    parameter and waits (on AWS the instances are replaced one by one; no redeploy)."""
    from reslab.webmode import set_mode

    is_local, raw = lab_event(lab)
    event = validate_event(raw)
    err = Console(stderr=True, soft_wrap=True)
    seen: list[str] = []

    def on_poll(status: str) -> None:
        if not seen or seen[-1] != status:
            seen.append(status)
            err.print(f"{event['stack_prefix']}Web: {status}")

    with target(is_local, None, None, start=False) as tgt:
        poll = 0.5 if is_local else AWS_POLL_SECONDS
        change = set_mode(tgt.clients, event, new_mode, poll, on_poll)
    if lab.as_json:
        print(json.dumps(change.to_json(), indent=2))
    elif change.changed:
        typer.echo(f"{change.stack}: {change.before} -> {change.after} ({change.seconds:.1f}s)")
    else:
        typer.echo(f"{change.stack}: already {change.after}, nothing to update")


def register(app: typer.Typer) -> None:
    app.command("mode")(mode)
