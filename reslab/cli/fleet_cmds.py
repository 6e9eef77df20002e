"""``reslab fleet deploy|status|destroy|reset``, ``reslab sweep``, ``reslab reset``,
``reslab install``: a class of labs at once, leftovers, one lab's reset, machinery only."""

from __future__ import annotations

import json
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from reslab import sweep as sweeping
from reslab.cli import deploy_cmds
from reslab.event import load_event
from reslab.fleet import lab
from reslab.fleet.errors import FleetFailed
from reslab.fleet.local import local_endpoint
from reslab.fleet.runner import FleetRun, run_fleet
from reslab.fleet.state import FAILED, FleetState, state_path
from reslab.fleet.targets import load_targets
from reslab.fleet.view import FleetView, summary, table
from reslab.installer.install import install as install_machinery

_stderr = Console(stderr=True, soft_wrap=True)
fleet_app = typer.Typer(
    help="Deploy, watch, destroy or reset one lab per participant.", no_args_is_help=True
)

TARGETS = typer.Option(..., "--targets", help="CSV: one row per participant.")
CONCURRENCY = typer.Option(4, "--concurrency", min=1, help="Targets worked on at once.")
LOCAL = typer.Option(False, "--local", help="Use the embedded local cloud.")
ALL = typer.Option(False, "--all", help="Also targets whose last run of this action succeeded.")
EVENT = typer.Option(None, "--event", help="Base event JSON (shared keys); rows fill the rest.")
NAME = typer.Option(deploy_cmds.DEFAULT_NAME, "--name", help="Install base name.")
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
        name: str = NAME,
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


def sweep(
    workshop: str = typer.Option(..., "--workshop", help="Value of the workshop tag."),
    regions: list[str] = typer.Option(  # noqa: B008
        ["us-east-2", "us-west-2"], "--region", help="Region to sweep (repeatable)."
    ),
    delete: bool = typer.Option(False, "--delete", help="Delete (default: dry run, list only)."),
    local: bool = LOCAL,
    as_json: bool = typer.Option(False, "--json", help="Print what was found as JSON."),
) -> None:
    """Find everything still tagged with the workshop; delete it in a safe order with --delete."""
    is_local = deploy_cmds.use_local(local)
    with deploy_cmds.target(is_local, None, None) as tgt:
        found = sweeping.find(tgt.clients, workshop, regions)
        out = Console(soft_wrap=True)
        if as_json:
            print(json.dumps([f.to_json() for f in found], indent=2))
        else:
            out.print(sweeping.table(found, workshop))
        if not delete:
            _stderr.print(f"dry run: {len(found)} resource(s); add --delete to remove them")
            return
        poll = 1.0 if tgt.local else 5.0
        report = sweeping.delete(tgt.clients, workshop, regions, _stderr.print, poll)
        remaining = sweeping.find(tgt.clients, workshop, regions)
    _stderr.print(
        f"deleted {report.deleted}, failed {len(report.failures)}, still tagged {len(remaining)}"
    )
    if remaining:
        _stderr.print(sweeping.table(remaining, workshop))
    if report.failures or remaining:
        raise sweeping.SweepIncomplete(
            "; ".join(report.failures[:5]) or f"{len(remaining)} resource(s) still tagged"
        )


def reset(
    local: bool = LOCAL,
    event_file: Path | None = typer.Option(None, "--event", help="Event JSON file."),
    workshop: str | None = typer.Option(None, "--workshop", help="Override the workshop tag."),
    name: str = NAME,
) -> None:
    """Tear one lab down and deploy it again (same install, same event)."""
    is_local = deploy_cmds.use_local(local)
    event = deploy_cmds.resolve_event(event_file, is_local, name, {"workshop": workshop})
    with deploy_cmds.target(is_local, None, None) as tgt:
        for machine in ("teardown", "deploy"):
            outcome = deploy_cmds.run_machine(tgt, name, event, machine, False)
            outcome.raise_for_status()
        deploy_cmds.print_summary(tgt, event, Console(soft_wrap=True))


def install(
    local: bool = LOCAL,
    event_file: Path | None = typer.Option(None, "--event", help="Event JSON file."),
    name: str = typer.Option(
        deploy_cmds.DEFAULT_NAME, "--name", help="Installer stack name (prefixes its functions)."
    ),
    bucket: str | None = typer.Option(
        None, "--bucket", help="Artifact bucket, in --region (default: the event's boot_bucket)."
    ),
    region: str | None = typer.Option(
        None, "--region", help="Region of the install (default: the event's region_name)."
    ),
) -> None:
    """Create or update the installer stack (roles, Lambdas, state machines, report bucket,
    backup-check schedule, SSM parameters) after uploading its artifacts; print its outputs.

    Then start the deploy yourself: ``aws stepfunctions start-execution``.
    """
    is_local = deploy_cmds.use_local(local)
    overrides = {"region_name": region} if region else {}
    event = deploy_cmds.resolve_event(event_file, is_local, name, overrides)
    with deploy_cmds.target(is_local, None, None) as tgt:
        from reslab.event import validate_event

        done = install_machinery(tgt.clients, name, validate_event(event), bucket)
    result: dict[str, Any] = {
        "stack": done.stack_id,
        "region": done.region,
        "machines": done.machines,
        "functions": done.functions,
        "report_bucket": done.report_bucket,
    }
    print(json.dumps(result, indent=2))


def register(app: typer.Typer) -> None:
    app.add_typer(fleet_app, name="fleet")
    app.command("sweep")(sweep)
    app.command("reset")(reset)
    app.command("install")(install)
