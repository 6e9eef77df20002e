"""``reslab deploy`` / ``destroy`` / ``status``: install the machinery, run a state machine, report.

Without AWS credentials (or with ``--local``) everything runs in the embedded local cloud: a
running one (``reslab.localcloud.discover()``) is reused, else one is started in this process.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import typer
from rich.console import Console

from reslab import execution
from reslab.cli.options import LabOptions, lab_command
from reslab.clients import ClientFactory
from reslab.errors import LocalCloudError
from reslab.event import load_event, local_event, validate_event
from reslab.installer.install import install
from reslab.progress import BackupProgress, StackProgress, phase, stack_outputs
from reslab.webhealth import WebHealth, unhealthy_error, web_health

NO_LOCAL_CLOUD = (
    "no local cloud is running, so there is no local lab (a lab lives in the cloud that "
    "deployed it: `reslab local up` in one terminal, then `reslab deploy --local`)"
)
#: On AWS the progress polls (DescribeStacks, GetExecutionHistory) are spaced out.
AWS_POLL_SECONDS = 5.0
_stderr = Console(stderr=True, soft_wrap=True)


@dataclass
class Target:
    """Where the lab runs: a client factory and whether it is the local cloud."""

    clients: ClientFactory
    local: bool
    #: A local cloud started by this command (it stops with it).
    started_here: bool = False


def use_local(force_local: bool) -> bool:
    return force_local or boto3.Session().get_credentials() is None


@contextmanager
def target(
    local: bool,
    db_url: str | None,
    time_scale: float | None,
    start: bool = True,
    iam: bool | None = None,
) -> Iterator[Target]:
    """The local cloud (reused or, with ``start``, started here) or AWS through boto3's default
    session. Without ``start`` (commands that read or remove what a running cloud holds) and no
    cloud running: ``LocalCloudError``.

    Clients are made once per (service, region): progress polls every half second.
    """
    if not local:
        yield Target(
            cache(lambda service, region: boto3.client(service, region_name=region)), False
        )
        return
    from reslab.localcloud import LocalCloud, discover, iam_report
    from reslab.localcloud.server import IAM_OFF_NOTICE, client_for

    for name in ("moto", "werkzeug"):  # moto logs every failed state with a traceback
        logging.getLogger(name).setLevel(logging.CRITICAL)
    endpoint = discover()
    if endpoint:
        if db_url or time_scale or iam is not None:
            _stderr.print(
                "reusing the running local cloud: --db-url/--time-scale/--no-iam are its own"
            )
        yield Target(cache(lambda service, region: client_for(endpoint, service, region)), True)
        return
    if not start:
        raise LocalCloudError(NO_LOCAL_CLOUD)
    with LocalCloud(db_url=db_url, time_scale=time_scale, iam=iam) as cloud:
        _stderr.print(f"local cloud at {cloud.endpoint_url} (lives as long as this command)")
        if iam is False:  # --no-iam
            _stderr.print(IAM_OFF_NOTICE)
        try:
            yield Target(cache(cloud.client), True, started_here=True)
        finally:
            if cloud.iam:
                iam_report.save(cloud.access_log)


def resolve_event(
    path: Path | None, local: bool, name: str, overrides: dict[str, Any]
) -> dict[str, Any]:
    """The event file as is, or (no file, local) the local defaults; then validated."""
    if path is not None:
        raw = load_event(path)
    elif local:
        raw = local_event(name)
    else:
        raise typer.BadParameter("--event FILE is required on AWS", param_hint="--event")
    raw.update({k: v for k, v in overrides.items() if v is not None})
    validate_event(raw)  # same check as the first state: fail before anything is created
    return raw


def run_machine(
    tgt: Target, name: str, event: dict[str, Any], machine: str, as_json: bool
) -> execution.Outcome:
    """Install (idempotent), run ``machine`` with live stack progress, return the outcome."""
    normalised = validate_event(event)
    with phase(_stderr, f"installing the lab machinery ({name}: Lambdas, state machines)"):
        inst = install(tgt.clients, name, normalised)
    sfn = tgt.clients("stepfunctions", inst.region)
    arn = execution.start(sfn, inst.machines[machine], event, f"{name}-{machine}")
    started = sfn.describe_execution(executionArn=arn)["startDate"]
    _stderr.print(f"{machine}: execution {arn}")
    tail = None if tgt.local else execution.HistoryTail(sfn, arn)
    backup = None
    if machine == "deploy" and not normalised.get("skip_backup_check"):
        backup = BackupProgress(sfn, inst.machines["restore"], started, _stderr.print)

    with StackProgress(tgt.clients, normalised, _stderr) as progress:

        def on_poll() -> None:
            progress.poll()
            for event_line in map(execution.describe_event, tail.new_events() if tail else []):
                if event_line:
                    _stderr.print(event_line)
            if backup is not None and progress.settled():
                backup.poll()

        outcome = execution.wait(sfn, arn, on_poll, 0.5 if tgt.local else AWS_POLL_SECONDS)
    if backup is not None and backup.arn:
        backup.poll()
    if as_json:
        print(json.dumps(outcome.to_json(), indent=2, default=str))
    return outcome


def print_summary(
    tgt: Target, event: dict[str, Any], console: Console
) -> dict[str, dict[str, str]]:
    """The lab's address lines; returns the stacks' outputs."""
    outputs = stack_outputs(tgt.clients, validate_event(event))
    web, db = outputs.get("web", {}), outputs.get("database", {})
    console.print(f"website:  {web.get('WebsiteURL', '-')}")
    console.print(f"mode:     {web.get('WebAppMode', '-')} (switch: reslab mode fragile|resilient)")
    endpoint = f"{db['EndpointAddress']}:{db.get('EndpointPort', '')}" if db else "-"
    console.print(f"database: {endpoint}")
    return outputs


def report_web_health(
    tgt: Target, event: dict[str, Any], web_outputs: dict[str, str], console: Console
) -> WebHealth | None:
    """The web tier's line; an unhealthy tier's instance log tail below it."""
    health = web_health(tgt.clients, validate_event(event), web_outputs)
    if health is not None:
        console.print(f"web tier: {health.line()}", markup=False)
        if health.log_tail:
            console.print(f"  bootstrap log of {health.unhealthy[0]} (tail):", markup=False)
            for line in health.log_tail.splitlines():
                console.print(f"    {line}", markup=False, highlight=False)
    return health


def next_steps(local: bool, cloud_started_here: bool) -> list[str]:
    """What to do once the lab is up (the end of ``reslab deploy``)."""
    flag = " --local" if local else ""
    steps = []
    if cloud_started_here:
        steps += [
            "this lab lived in a local cloud that stops with this command; to keep one up:",
            "  `reslab local up` in another terminal, then `reslab deploy --local`",
        ]
    steps += [
        f"break it:       reslab inject instance{flag} --probe   (or az, rds, s3)",
        f"undo:           reslab recover{flag}",
        f"verify backups: reslab verify-backup{flag} --snapshot new",
        f"watch:          reslab status{flag}",
        f"remove it:      reslab destroy{flag}",
    ]
    return steps


@lab_command
def deploy(
    lab: LabOptions,
    db_url: str | None = typer.Option(None, "--db-url", help="Back local RDS with this DB."),
    time_scale: float | None = typer.Option(
        None, "--time-scale", help="Local: hold stacks in progress for AWS time / N."
    ),
    no_iam: bool = typer.Option(
        False, "--no-iam", help="Local: do not enforce IAM in the cloud started here (debugging)."
    ),
) -> None:
    """Deploy the lab: VPC + Storage, then Database, then Replica + Web, then the backup check."""
    is_local, event = lab_event(lab)
    if is_local and validate_event(event).get("dms") is True:
        db_url = dms_backing(db_url)
    with target(is_local, db_url, time_scale, iam=False if no_iam else None) as tgt:
        outcome = run_machine(tgt, lab.name, event, "deploy", lab.as_json)
        summary = _stderr if lab.as_json else Console(soft_wrap=True)
        outputs = print_summary(tgt, event, summary)
        health = None
        if outcome.status == "SUCCEEDED":
            health = report_web_health(tgt, event, outputs.get("web", {}), summary)
        summary.print(f"backups:  {backup_verdict(outcome)}")
        broken = bool(health and health.unhealthy and not health.healthy)
        if outcome.status == "SUCCEEDED" and not broken:
            summary.print("next:")
            for step in next_steps(tgt.local, tgt.started_here):
                summary.print(f"  {step}", markup=False)
    outcome.raise_for_status()
    if broken and health is not None:
        raise unhealthy_error(health)


def dms_backing(db_url: str | None) -> str | None:
    """The DMS mode reads the replica's binary log: each MySQL instance must be its own MariaDB
    (``private-mysql``). A cloud started here gets it; a running one (``reslab local up``) must
    have it, else ``LocalCloudError`` before anything is created."""
    from reslab.localcloud import discover
    from reslab.localcloud.dbbacking import PRIVATE_MYSQL
    from reslab.localcloud.state import running_backing

    if discover():
        backing = running_backing()
        if backing not in (None, PRIVATE_MYSQL):
            raise LocalCloudError(
                f"dms: the running local cloud backs RDS with {backing}, and the DMS mode needs "
                f"each MySQL instance its own server: stop it and run `reslab local up --db-url "
                f"{PRIVATE_MYSQL}`, or stop it and let `reslab deploy --local` start one"
            )
        return db_url
    return db_url or PRIVATE_MYSQL


def lab_event(lab: LabOptions) -> tuple[bool, dict[str, Any]]:
    """Local or AWS, and the lab's event (file or local defaults, then the options), validated."""
    is_local = use_local(lab.local)
    return is_local, resolve_event(lab.event_file, is_local, lab.name, lab.overrides())


def backup_verdict(outcome: execution.Outcome) -> str:
    """One line on the nested restore-integrity execution the deploy machine ends with."""
    if outcome.error == "BackupCheckFailed":
        return "FAILED: the restore-integrity check failed (reslab reports --local shows why)"
    check = (outcome.output or {}).get("backup_check") if isinstance(outcome.output, dict) else None
    if check:  # the execution's ARN is in --json's output
        return f"verified ({check.get('status', '?')}; `reslab reports` lists the report)"
    return "not checked (skip_backup_check)" if outcome.status == "SUCCEEDED" else "not reached"


@lab_command
def destroy(lab: LabOptions) -> None:
    """Tear the lab down in reverse order, in both regions (buckets emptied first)."""
    is_local, event = lab_event(lab)
    started = time.monotonic()
    with target(is_local, None, None, start=False) as tgt:
        before = StackProgress(tgt.clients, validate_event(event), _stderr, echo=False)
        before.poll()
        outcome = run_machine(tgt, lab.name, event, "teardown", lab.as_json)
    existed = [line.name for line in before.lines if line.status not in ("-", "SKIPPED")]
    verb = "destroyed" if outcome.status == "SUCCEEDED" else "teardown FAILED"
    _stderr.print(
        f"{verb}: {len(existed)} stack(s) of workshop {event['workshop']!r} "
        f"({', '.join(existed) or 'none existed'}) in {time.monotonic() - started:.1f}s",
        markup=False,
    )
    outcome.raise_for_status()


@lab_command
def status(lab: LabOptions) -> None:
    """Show every stack of the lab with its status."""
    is_local, raw = lab_event(lab)
    event = validate_event(raw)
    with target(is_local, None, None, start=False) as tgt:
        progress = StackProgress(tgt.clients, event, _stderr, echo=False)
        progress.poll()
        if lab.as_json:
            outputs = stack_outputs(tgt.clients, event)
            stacks = {
                line.spec.key: {"name": line.name, "region": line.region, "status": line.status}
                for line in progress.lines
            }
            print(json.dumps({"stacks": stacks, "outputs": outputs}, indent=2))
            return
        console = Console()
        console.print(progress.table())
        print_summary(tgt, event, console)


def register(app: typer.Typer) -> None:
    app.command("deploy")(deploy)
    app.command("destroy")(destroy)
    app.command("status")(status)
