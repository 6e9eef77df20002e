"""``reslab fleet deploy|status|destroy|reset``: one lab per participant, a class at once."""

from __future__ import annotations

import time
from contextlib import nullcontext
from pathlib import Path

import typer
from rich.console import Console

from reslab.cli import deploy_cmds
from reslab.cli.options import INSTALL_BASE_NAME, LOCAL
from reslab.event import load_event
from reslab.fleet import lab
from reslab.fleet.errors import FleetFailed
from reslab.fleet.local import local_endpoint
from reslab.fleet.runner import FleetRun, run_fleet
from reslab.fleet.state import FAILED, FleetState, state_path
from reslab.fleet.targets import load_targets
from reslab.fleet.view import FleetView, summary, table

_stderr = Console(stderr=True, soft_wrap=True)
fleet_app = typer.Typer(
    help="Deploy, watch, destroy or reset one lab per participant.", no_args_is_help=True
)

TARGETS = typer.Option(..., "--targets", help="CSV: one row per participant.")
CONCURRENCY = typer.Option(4, "--concurrency", min=1, help="Targets worked on at once.")
ALL = typer.Option(False, "--all", help="Also targets whose last run of this action succeeded.")
EVENT = typer.Option(None, "--event", help="Base event JSON (shared keys); rows fill the rest.")
PROFILE = typer.Option(None, "--profile", help="Profile whose credentials assume the roles.")


def _run(
    action: str,
    targets_file: Path,
    concurrency: int,
    local: bool,
    everything: bool,
    event_file: Path | None,
    name: str,
    profile: str | None,
) -> None:
    targets = load_targets(targets_file)
    is_local = deploy_cmds.use_local(local)
    base_event = load_event(event_file) if event_file else None
    settings = lab.Settings(base_name=name, base_event=base_event, local=is_local)
    state = FleetState(state_path(targets_file))
    endpoint_cm = local_endpoint(_stderr) if is_local else nullcontext(None)
    started = time.monotonic()
    with endpoint_cm as endpoint:
        fleet = FleetRun(action, settings, concurrency, endpoint, profile)
        title = f"fleet {action}: {targets_file.name}"
        with FleetView(_stderr, title) as view:
            runs = run_fleet(fleet, targets, state, everything, view.update)
    wall = time.monotonic() - started
    Console(soft_wrap=True).print(table(runs, title))
    _stderr.print(summary(runs, wall))
    if action != "status":
        _stderr.print(f"state: {state.path}")
    failed = [r for r in runs if r.status == FAILED]
    if failed:
        names = "; ".join(f"{r.target.label}: {r.error}" for r in failed[:5])
        raise FleetFailed(
            f"{len(failed)} of {len(runs)} target(s) failed ({names}); "
            f"rerun the same command to retry only those"
        )


def _action(action: str, doc: str) -> None:
    def command(
        targets_file: Path = TARGETS,
        concurrency: int = CONCURRENCY,
        local: bool = LOCAL,
        everything: bool = ALL,
        event_file: Path | None = EVENT,
        name: str = INSTALL_BASE_NAME,
        profile: str | None = PROFILE,
    ) -> None:
        _run(action, targets_file, concurrency, local, everything, event_file, name, profile)

    command.__doc__ = doc
    fleet_app.command(action)(command)


for _action_name, _doc in (
    ("deploy", "Deploy every target's lab (a rerun retries only the failed ones)."),
    ("status", "Show every target's stacks (read-only)."),
    ("destroy", "Tear down every target's lab."),
    ("reset", "Tear down then deploy every target's lab (between sessions: add --all)."),
):
    _action(_action_name, _doc)


def register(app: typer.Typer) -> None:
    app.add_typer(fleet_app, name="fleet")
