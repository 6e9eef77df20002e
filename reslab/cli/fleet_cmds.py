"""``reslab fleet deploy|status|destroy|reset``: one lab per participant, a class at once."""

from __future__ import annotations

import inspect
import json
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from reslab.cli import deploy_cmds, options
from reslab.cli.options import INSTALL_BASE_NAME, LOCAL
from reslab.errors import LocalCloudError
from reslab.event import load_event
from reslab.fleet import lab
from reslab.fleet.errors import FleetFailed, InvalidTargets
from reslab.fleet.local import local_endpoint
from reslab.fleet.runner import FleetRun, run_fleet
from reslab.fleet.state import FAILED, FleetState, state_path
from reslab.fleet.targets import Target, load_targets
from reslab.fleet.view import FleetView, rows_json, summary, table

_stderr = Console(stderr=True, soft_wrap=True)
fleet_app = typer.Typer(
    help="Deploy, watch, destroy or reset one lab per participant.", no_args_is_help=True
)

TARGETS = typer.Option(..., "--targets", help="CSV: one row per participant.")
CONCURRENCY = typer.Option(4, "--concurrency", min=1, help="Targets worked on at once.")
ALL = typer.Option(False, "--all", help="Also targets whose last run of this action succeeded.")
EVENT = typer.Option(None, "--event", help="Base event JSON (shared keys); rows fill the rest.")
PROFILE = typer.Option(None, "--profile", help="Profile whose credentials assume the roles.")
ONLY = typer.Option(
    [],
    "--only",
    min=1,
    metavar="ROW",
    help="Only this row of the CSV (repeatable; the numbers the table shows, never renumbered).",
)
#: ``fleet status`` reads stack statuses only: a fixed fan-out, no option for it.
STATUS_CONCURRENCY = 8
#: Actions that read or remove what a running local cloud holds (no cloud: nothing to do).
NEEDS_RUNNING_CLOUD = ("status", "destroy")


@dataclass(frozen=True)
class Run:
    """One fleet command line: the action and its options (named as the command's parameters)."""

    action: str
    targets_file: Path
    local: bool
    event_file: Path | None
    name: str
    profile: str | None
    concurrency: int = STATUS_CONCURRENCY
    everything: bool = False
    only: tuple[int, ...] = ()
    as_json: bool = False


#: Every fleet command's options, in --help order: parameter name -> (type, typer option).
PARAMETERS: dict[str, tuple[Any, Any]] = {
    "targets_file": (Path, TARGETS),
    "concurrency": (int, CONCURRENCY),
    "only": (list[int], ONLY),
    "everything": (bool, ALL),
    "local": (bool, LOCAL),
    "event_file": (Path | None, EVENT),
    "name": (str, INSTALL_BASE_NAME),
    "profile": (str | None, PROFILE),
    "as_json": (bool, options.JSON),
}
#: ``status`` reads stack statuses only: no fan-out knob, no state file to override.
NOT_FOR_STATUS = ("concurrency", "everything")


def chosen_rows(targets: list[Target], only: tuple[int, ...]) -> None:
    rows = {t.row for t in targets}
    unknown = sorted(set(only) - rows)
    if unknown:
        listed = ", ".join(str(r) for r in sorted(rows))
        raise InvalidTargets(f"--only {unknown[0]}: no such row (rows: {listed})")


def _run(args: Run) -> None:
    targets = load_targets(args.targets_file)
    chosen_rows(targets, args.only)
    is_local = deploy_cmds.use_local(args.local)
    base_event = load_event(args.event_file) if args.event_file else None
    settings = lab.Settings(base_name=args.name, base_event=base_event, local=is_local)
    state = FleetState(state_path(args.targets_file))
    if is_local and args.action in NEEDS_RUNNING_CLOUD:
        from reslab.localcloud import discover

        if discover() is None:
            raise LocalCloudError(deploy_cmds.NO_LOCAL_CLOUD)
    endpoint_cm = local_endpoint(_stderr) if is_local else nullcontext(None)
    started = time.monotonic()
    title = f"fleet {args.action}: {args.targets_file.name}"
    with endpoint_cm as endpoint:
        fleet = FleetRun(args.action, settings, args.concurrency, endpoint, args.profile)
        with FleetView(_stderr, title) as view:
            runs = run_fleet(fleet, targets, state, args.everything, view.update, args.only)
    wall = time.monotonic() - started
    if args.as_json:
        print(json.dumps(rows_json(runs), indent=2))
    else:
        Console(soft_wrap=True).print(table(runs, title))
    _stderr.print(summary(runs, wall))
    if args.action != "status":
        _stderr.print(f"state: {state.path}")
    failed = [r for r in runs if r.status == FAILED]
    if failed:
        names = "; ".join(f"{r.target.label}: {r.error}" for r in failed[:5])
        raise FleetFailed(
            f"{len(failed)} of {len(runs)} target(s) failed ({names}); "
            f"rerun the same command to retry only those"
        )


def _action(action: str, doc: str) -> None:
    names = [n for n in PARAMETERS if action != "status" or n not in NOT_FOR_STATUS]

    def command(**values: Any) -> None:
        _run(Run(action, **{**values, "only": tuple(values["only"])}))

    command.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=PARAMETERS[name][1],
                annotation=PARAMETERS[name][0],
            )
            for name in names
        ]
    )
    command.__doc__ = doc
    fleet_app.command(action)(command)


for _action_name, _doc in (
    ("deploy", "Deploy every target's lab (a rerun retries only the failed ones)."),
    ("status", "Show every target's stacks, website and last backup verdict (read-only)."),
    ("destroy", "Tear down every target's lab."),
    ("reset", "Tear down then deploy every target's lab (between sessions: add --all; "
              "one participant: --only ROW)."),
):  # fmt: skip
    _action(_action_name, _doc)


def register(app: typer.Typer) -> None:
    app.add_typer(fleet_app, name="fleet")
