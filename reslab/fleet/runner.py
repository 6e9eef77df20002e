"""Run one action on every target with bounded concurrency; one failure never stops the others."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime

from reslab.errors import ReslabError
from reslab.fleet import lab
from reslab.fleet.credentials import target_clients
from reslab.fleet.state import FAILED, SUCCEEDED, FleetState, Record
from reslab.fleet.targets import Target

ACTIONS = ("deploy", "status", "destroy", "reset")
PENDING, RUNNING, SKIPPED = "pending", "running", "skipped"
REFRESH_SECONDS = 0.5


@dataclass
class TargetRun:
    """Live record of one target during a fleet run."""

    target: Target
    status: str = PENDING
    stage: str = ""
    started: float | None = None
    ended: float | None = None
    error: str = ""
    message: str = ""
    execution: str = ""
    #: The lab's website (web stack output) and the backup check's verdict, once known.
    url: str = ""
    backup: str = ""

    def elapsed(self, now: float | None = None) -> float:
        if self.started is None:
            return 0.0
        return (self.ended or now or time.monotonic()) - self.started


@dataclass
class FleetRun:
    """Everything a fleet command needs to run one action."""

    action: str
    settings: lab.Settings
    concurrency: int = 4
    endpoint_url: str | None = None  # the local cloud; None = AWS
    base_profile: str | None = None  # profile whose credentials assume the targets' roles
    runs: list[TargetRun] = field(default_factory=list)


def _error_name(exc: BaseException) -> str:
    return exc.name if isinstance(exc, ReslabError) else type(exc).__name__


def run_target(fleet: FleetRun, run: TargetRun) -> None:
    """Do the action for one target, recording status/stage/error on ``run`` (never raises)."""
    target, settings = run.target, fleet.settings
    run.started, run.status = time.monotonic(), RUNNING

    def stage(text: str) -> None:
        run.stage = text

    try:
        stage("credentials")
        clients = target_clients(target, fleet.endpoint_url, fleet.base_profile)
        account = clients("sts", target.region).get_caller_identity()["Account"]
        event = lab.event_for(target, settings, account)
        name = lab.install_name(target, settings.base_name)
        if fleet.action == "status":
            statuses = lab.stack_statuses(clients, event)
            up = all(s in lab.COMPLETE for s in statuses.values())
            stage(lab.describe_stage(statuses, "deploy").removesuffix(f", {lab.BACKUP_STAGE}"))
            run.status = (
                "up" if up else ("absent" if set(statuses.values()) == {"-"} else "partial")
            )
            if run.status != "absent":
                run.url = lab.website_url(clients, event)
                run.backup = lab.last_backup_verdict(clients, name, target.region)
            return
        for machine in lab.MACHINES[fleet.action]:
            outcome = lab.run_machine(clients, name, event, machine, stage, settings)
            run.execution = outcome.arn
            if machine == "deploy":
                run.backup = lab.backup_verdict(outcome)
            outcome.raise_for_status()
        if fleet.action != "destroy":
            run.url = lab.website_url(clients, event)
        run.status = SUCCEEDED
    except Exception as exc:  # noqa: BLE001 - one target's failure must not stop the others
        run.status, run.error, run.message = FAILED, _error_name(exc), str(exc)
    finally:
        run.ended = time.monotonic()


def _record(fleet: FleetRun, run: TargetRun) -> Record:
    return Record(
        row=run.target.row,
        label=run.target.label,
        action=fleet.action,
        status=run.status,
        error=run.error,
        message=run.message,
        elapsed=round(run.elapsed(), 1),
        execution=run.execution,
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def run_fleet(
    fleet: FleetRun,
    targets: list[Target],
    state: FleetState | None = None,
    everything: bool = False,
    on_change: Callable[[list[TargetRun]], None] | None = None,
    only: Collection[int] = (),
) -> list[TargetRun]:
    """Run ``fleet.action`` on the targets not already done (per ``state``); returns every run.

    ``only``: just these rows (CSV row numbers, as the table shows them), done even if their
    last run succeeded; the other rows are listed as skipped. ``status`` never consults or
    writes the state file.
    """
    tracked = state if fleet.action != "status" else None
    chosen = [t for t in targets if t.row in only] if only else targets
    todo = {
        t.key
        for t in (
            tracked.pending(chosen, fleet.action, everything or bool(only)) if tracked else chosen
        )
    }
    fleet.runs = [TargetRun(t, PENDING if t.key in todo else SKIPPED) for t in targets]
    for run in fleet.runs:
        if run.status == SKIPPED:
            chose = not only or run.target.row in only
            run.stage = f"already {fleet.action}: {SUCCEEDED}" if chose else "not in --only"

    def one(run: TargetRun) -> None:
        run_target(fleet, run)
        if tracked is not None:
            tracked.set(run.target, _record(fleet, run))

    with ThreadPoolExecutor(max_workers=max(1, fleet.concurrency)) as pool:
        futures = {pool.submit(one, r) for r in fleet.runs if r.status == PENDING}
        while futures:
            _, futures = wait(futures, timeout=REFRESH_SECONDS, return_when=FIRST_COMPLETED)
            if on_change:
                on_change(fleet.runs)
    if on_change:
        on_change(fleet.runs)
    return fleet.runs
