"""``reslab reset``: tear one lab down and deploy it again (same install, same event)."""

from __future__ import annotations

import json

import typer
from rich.console import Console

from reslab.cli import deploy_cmds
from reslab.cli.options import LabOptions, lab_command


@lab_command
def reset(lab: LabOptions) -> None:
    """Tear one lab down and deploy it again (same install, same event)."""
    is_local, event = deploy_cmds.lab_event(lab)
    results = []
    with deploy_cmds.target(is_local, None, None) as tgt:
        for machine in ("teardown", "deploy"):
            outcome = deploy_cmds.run_machine(tgt, lab.name, event, machine, False)
            results.append({"machine": machine, **outcome.to_json()})
            if outcome.status != "SUCCEEDED":
                break
        if lab.as_json:
            print(json.dumps(results, indent=2, default=str))
        deploy_cmds.print_summary(tgt, event, Console(stderr=lab.as_json, soft_wrap=True))
    outcome.raise_for_status()


def register(app: typer.Typer) -> None:
    app.command("reset")(reset)
