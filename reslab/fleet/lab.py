"""Adapter over the deploy engineer's programmatic API (no subprocesses): build a target's event,
install the machinery (``reslab.installer.install.install``), start an execution and wait for it
(``reslab.execution``), and describe where the lab is while it runs (stage)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from reslab import execution
from reslab.clients import ClientFactory
from reslab.event import LOCAL_DEFAULTS, validate_event
from reslab.fleet.targets import Target
from reslab.installer.install import install
from reslab_lambda.cfn import COMPLETE, GONE, describe
from reslab_lambda.stacks import stack_table

Stage = Callable[[str], None]
#: What each fleet action runs, in order (machines of reslab.machines).
MACHINES: Mapping[str, tuple[str, ...]] = {
    "deploy": ("deploy",),
    "destroy": ("teardown",),
    "reset": ("teardown", "deploy"),
}
#: Seconds between progress polls (execution status, stack statuses): local, AWS.
POLL = {True: (2.0, 6.0), False: (10.0, 20.0)}
_BUCKET_MAX = 63
#: The end of a deploy's stage while its nested backup check runs (the stacks are all up).
BACKUP_STAGE = "backup check"


@dataclass(frozen=True)
class Settings:
    """What every target shares: install base name, base event, local or AWS."""

    base_name: str = "reslab"
    base_event: Mapping[str, Any] | None = None
    local: bool = False
    #: Called after each install with (clients, event): e.g. replace the uploaded templates.
    after_install: Callable[[ClientFactory, dict[str, Any]], None] | None = None


def install_name(target: Target, base_name: str) -> str:
    if target.name:
        return target.name
    return f"{base_name}-{target.stack_prefix.lower()}" if target.stack_prefix else base_name


def _bucket(name: str, account: str, region: str, kind: str) -> str:
    suffix = f"-{account}-{region}-{kind}" if account else f"-{region}-{kind}"
    return f"{name[: _BUCKET_MAX - len(suffix)].rstrip('-')}{suffix}"


def event_for(target: Target, settings: Settings, account: str) -> dict[str, Any]:
    """The target's deployment event: base event, then the row's values, then derived buckets."""
    base = dict(settings.base_event or LOCAL_DEFAULTS)
    if not settings.local and settings.base_event is None:
        base.pop("poll_seconds", None)  # AWS default (30 s) unless the base event says otherwise
    base.pop("secondary_region_name", None)
    name = install_name(target, settings.base_name)
    event = {
        **base,
        "region_name": target.region,
        "cfn_region": target.region,
        "workshop": target.workshop,
    }
    if target.secondary_region:
        event["secondary_region_name"] = target.secondary_region
    if target.stack_prefix:
        event["stack_prefix"] = target.stack_prefix
    event["cfn_bucket"] = target.cfn_bucket or _bucket(name, account, target.region, "cfn")
    event["boot_bucket"] = target.boot_bucket or _bucket(name, account, target.region, "boot")
    return event


def stack_statuses(clients: ClientFactory, event: Mapping[str, Any]) -> dict[str, str]:
    """Stack key -> status (``-`` absent) for every stack this event deploys."""
    normalised = validate_event(event)
    statuses = {}
    for spec in stack_table():
        region = spec.region(normalised)
        if region is None:
            continue
        stack = describe(clients("cloudformation", region), spec.stack_name(normalised))
        statuses[spec.key] = stack["StackStatus"] if stack else "-"
    return statuses


def describe_stage(statuses: Mapping[str, str], machine: str) -> str:
    """``3/5 Database CREATE_IN_PROGRESS`` (deploy) or ``2/5 gone ...`` (teardown)."""
    if machine == "teardown":
        done = sum(1 for s in statuses.values() if s in ("-", GONE))
        head = f"{done}/{len(statuses)} gone"
    else:
        done = sum(1 for s in statuses.values() if s in COMPLETE)
        head = f"{done}/{len(statuses)} up"
        if statuses and done == len(statuses):
            return f"{head}, {BACKUP_STAGE}"  # the stacks are up: the machine's last step runs
    active = [f"{key} {s}" for key, s in statuses.items() if s.endswith("_IN_PROGRESS")]
    return " ".join([head, *active[:2]])


def website_url(clients: ClientFactory, event: Mapping[str, Any]) -> str:
    """The web stack's WebsiteURL output ('' when the stack or output is absent)."""
    normalised = validate_event(event)
    spec = next(spec for spec in stack_table() if spec.key == "web")
    region = spec.region(normalised)
    stack = describe(clients("cloudformation", region), spec.stack_name(normalised))
    outputs = {o["OutputKey"]: o["OutputValue"] for o in (stack or {}).get("Outputs", [])}
    return outputs.get("WebsiteURL", "")


def backup_verdict(outcome: execution.Outcome | None) -> str:
    """The nested backup check's verdict from a deploy execution's end."""
    if outcome is None:
        return ""
    if outcome.error == "BackupCheckFailed":
        return "FAILED"
    output = outcome.output if isinstance(outcome.output, dict) else {}
    check = output.get("backup_check")
    if check:
        return "verified" if check.get("status") == "SUCCEEDED" else str(check.get("status"))
    return "not checked" if outcome.status == "SUCCEEDED" else "not reached"


def last_backup_verdict(clients: ClientFactory, name: str, region: str) -> str:
    """The verdict of the install's newest restore-integrity execution ('' when none ran)."""
    installer = describe(clients("cloudformation", region), name)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in (installer or {}).get("Outputs", [])}
    machine = outputs.get("RestoreMachineArn")
    if not machine:
        return ""
    sfn = clients("stepfunctions", region)
    newest = sfn.list_executions(stateMachineArn=machine, maxResults=1)["executions"]
    if not newest:
        return "never checked"
    status = newest[0]["status"]
    return {"SUCCEEDED": "verified", "FAILED": "FAILED", "RUNNING": "checking"}.get(status, status)


def run_machine(
    clients: ClientFactory,
    name: str,
    event: dict[str, Any],
    machine: str,
    stage: Stage,
    settings: Settings,
) -> execution.Outcome:
    """Install (idempotent), start ``machine``, wait for its end reporting the stage."""
    stage(f"{machine}: installing")
    installed = install(clients, name, validate_event(event))
    if settings.after_install is not None:
        settings.after_install(clients, event)
    sfn = clients("stepfunctions", installed.region)
    arn = execution.start(sfn, installed.machines[machine], event, f"{name}-{machine}")
    poll_seconds, stage_seconds = POLL[settings.local]
    last = 0.0

    def show() -> None:
        # progress only: a failed poll must never fail the target
        with contextlib.suppress(BotoCoreError, ClientError):
            stage(f"{machine}: {describe_stage(stack_statuses(clients, event), machine)}")

    def on_poll() -> None:
        nonlocal last
        if time.monotonic() - last >= stage_seconds:
            last = time.monotonic()
            show()

    stage(f"{machine}: started")
    outcome = execution.wait(sfn, arn, on_poll, poll_seconds)
    show()
    return outcome
