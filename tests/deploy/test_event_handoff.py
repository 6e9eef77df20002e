"""The event-driven handoff in the local cloud: a stack's completion event answers the
execution waiting for it (``reslab_lambda.handoff``), a lost event is covered by the fallback
check, a failed stack still ends in StackFailed. Stacks are held in progress (``scaled_time``)
so the waits really are answered by events. The three labs run side by side (one fixture)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from reslab import execution, sweep
from reslab.localcloud.compat.cloudformation.stack_events import losing
from reslab_lambda.stacks import stack_table
from tests.deploy.conftest import REGIONS, Lab, new_lab

#: Stub stacks take 30 s of AWS time: held 5 s each.
TIME_SCALE = 6
#: ``stack_event``'s log line when it answered a wait: ``<stack> (<region>) is <status>: ...``.
ANSWERED = re.compile(r"([A-Za-z0-9-]+) \([a-z0-9-]+\) is [A-Z_]+: answered ")
DEPLOYED = [s for s in stack_table() if s.switch is None]


def _log_lines(lab: Lab, function: str) -> list[str]:
    group = f"/aws/lambda/{lab.name}-{function}"
    events = lab.client("logs").filter_log_events(logGroupName=group)["events"]
    return [e["message"] for e in events]


def answered_by_events(lab: Lab) -> set[str]:
    """Names of the stacks whose wait ``stack_event`` answered (its log lines)."""
    return {m.group(1) for line in _log_lines(lab, "stack_event") if (m := ANSWERED.search(line))}


def waited_for_events(lab: Lab) -> set[str]:
    """Names of the stacks ``await_stack`` left waiting for their event (still in progress; the
    others had finished before: a cold Lambda on a busy machine can be slower than the hold)."""
    keys = {line.split(":")[-2].strip() for line in _log_lines(lab, "await_stack")
            if line.endswith("waiting for its event")}  # fmt: skip
    return {spec.stack_name(lab.event) for spec in DEPLOYED if spec.key in keys}


@dataclass
class Run:
    lab: Lab
    deploy: execution.Outcome
    teardown: execution.Outcome
    answered: set[str]
    waited: set[str]


def _run(lab: Lab, lost: str | None = None, failing: str | None = None) -> Run:
    cloud = lab.cloud
    prefix = lab.event["stack_prefix"]
    with losing(f"{prefix}{lost}" if lost else "-"):
        if failing:
            with cloud.failing_stacks(f"{prefix}{failing}", "disk on fire"):
                deployed = lab.run("deploy")
        else:
            deployed = lab.run("deploy")
    answered, waited = answered_by_events(lab), waited_for_events(lab)
    return Run(lab, deployed, lab.run("teardown"), answered, waited)


@pytest.fixture(scope="module")
def runs(cloud: Any) -> dict[str, Run]:
    labs = {  # installed first: the installer stack is not held
        "events": new_lab(cloud, stubs=True),
        "lost": new_lab(cloud, stubs=True, await_seconds=1),
        "failed": new_lab(cloud, stubs=True),
    }
    with cloud.scaled_time(TIME_SCALE), ThreadPoolExecutor(3) as pool:
        futures = {
            "events": pool.submit(_run, labs["events"]),
            "lost": pool.submit(_run, labs["lost"], lost="Web"),
            "failed": pool.submit(_run, labs["failed"], failing="Database"),
        }
        return {name: future.result() for name, future in futures.items()}


def test_deploy_and_teardown_are_answered_by_stack_events(runs: dict[str, Run]) -> None:
    run = runs["events"]
    assert run.deploy.status == "SUCCEEDED", run.deploy.cause
    names = {spec.stack_name(run.lab.event) for spec in DEPLOYED}
    assert run.waited and run.waited <= run.answered <= names
    states = run.lab.states(run.deploy)
    assert not [s for s in states if s.startswith(("Check ", "Wait "))]  # no poll
    assert {s for s in states if s.startswith("Await ")} == {f"Await {s.label}" for s in DEPLOYED}
    assert run.deploy.output["stacks"]["replica"] == {  # answered through the forwarding rule
        "stackname": f"{run.lab.event['stack_prefix']}Replica",
        "status": "CREATE_COMPLETE",
        "region": "us-west-2",
    }
    assert run.teardown.status == "SUCCEEDED", run.teardown.cause
    assert run.lab.stacks() == {}
    assert not [s for s in run.lab.states(run.teardown) if s.startswith(("Check ", "Wait "))]


def test_the_token_store_is_emptied_and_sweep_removes_the_forwarding_rule(
    runs: dict[str, Run],
) -> None:
    lab = runs["events"].lab
    stored = lab.client("ssm").get_parameters_by_path(Path="/reslab/await/", Recursive=True)
    assert not [p for p in stored["Parameters"] if lab.event["stack_prefix"] in p["Name"]]
    workshop = lab.event["workshop"]
    kind = sweep.KINDS_BY_NAME["event-rule"]
    found = sweep.find_kind(lab.cloud.client, kind, workshop, list(REGIONS), sweep.Hints())
    # the installer stack's rule (home region) goes with the stack; the forwarding rule is swept
    [rule] = [f for f in found if f.region == "us-west-2"]
    assert (rule.region, rule.id) == ("us-west-2", f"{lab.name}-stack-events")
    sweep.delete_event_rule(lab.cloud.client, rule, 0)
    names = [r["Name"] for r in lab.client("events", "us-west-2").list_rules()["Rules"]]
    assert rule.id not in names


def test_a_lost_event_is_covered_by_the_fallback_check(runs: dict[str, Run]) -> None:
    run = runs["lost"]
    web = f"{run.lab.event['stack_prefix']}Web"
    assert run.deploy.status == "SUCCEEDED", run.deploy.cause
    assert run.deploy.output["stacks"]["web"]["status"] == "CREATE_COMPLETE"
    assert web not in run.answered
    assert "Check Web" in run.lab.states(run.deploy)  # the fallback found it complete
    assert run.teardown.status == "SUCCEEDED", run.teardown.cause


def test_a_failed_stack_event_ends_in_stack_failed(runs: dict[str, Run]) -> None:
    run = runs["failed"]
    database = f"{run.lab.event['stack_prefix']}Database"
    assert (run.deploy.status, run.deploy.error) == ("FAILED", "StackFailed")
    assert database in run.deploy.cause and "disk on fire" in run.deploy.cause
    assert run.teardown.status == "SUCCEEDED", run.teardown.cause
    assert run.lab.stacks() == {}
