"""The event-driven handoff in the local cloud: a stack's completion event answers the
execution waiting for it (``reslab_lambda.handoff``), a lost event is covered by the fallback
check, a failed stack still ends in StackFailed. Stacks are held in progress (``scaled_time``)
so every wait really is answered by the event, not at once."""

from __future__ import annotations

import re
from typing import Any

from reslab.localcloud.compat.cloudformation.stack_events import losing
from reslab_lambda.stacks import stack_table
from tests.deploy.conftest import Lab, new_lab

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
    """Keys of the stacks ``await_stack`` left waiting for their event (still in progress; the
    others had finished before, a cold Lambda on a busy machine being slower than the hold)."""
    return {line.split(":")[-2].strip() for line in _log_lines(lab, "await_stack")
            if line.endswith("waiting for its event")}  # fmt: skip


def test_deploy_and_teardown_are_answered_by_stack_events(cloud: Any) -> None:
    lab = new_lab(cloud, stubs=True)
    names = {spec.stack_name(lab.event) for spec in DEPLOYED}
    with cloud.scaled_time(TIME_SCALE):
        deployed = lab.run("deploy")
        assert deployed.status == "SUCCEEDED", deployed.cause
        waited = {spec.stack_name(lab.event) for spec in DEPLOYED
                  if spec.key in waited_for_events(lab)}  # fmt: skip
        answered = answered_by_events(lab)
        assert waited and waited <= answered <= names
        states = lab.states(deployed)
        assert not [s for s in states if s.startswith(("Check ", "Wait "))]  # no poll
        assert {s for s in states if s.startswith("Await ")} == {
            f"Await {spec.label}" for spec in DEPLOYED
        }
        assert deployed.output["stacks"]["replica"] == {
            "stackname": f"{lab.event['stack_prefix']}Replica",
            "status": "CREATE_COMPLETE",
            "region": "us-west-2",
        }
        torn = lab.run("teardown")
    assert torn.status == "SUCCEEDED", torn.cause
    assert lab.stacks() == {}
    assert not [s for s in lab.states(torn) if s.startswith(("Check ", "Wait "))]
    # the token store is emptied by the answers, the forwarding rule carries the workshop tag
    ssm = lab.client("ssm")
    stored = ssm.get_parameters_by_path(Path="/reslab/await/", Recursive=True)["Parameters"]
    assert not [p for p in stored if lab.event["stack_prefix"] in p["Name"]]
    events = lab.client("events", "us-west-2")
    rule = events.describe_rule(Name=f"{lab.name}-stack-events")
    tags = events.list_tags_for_resource(ResourceARN=rule["Arn"])["Tags"]
    assert {"Key": "workshop", "Value": lab.event["workshop"]} in tags


def test_a_lost_event_is_covered_by_the_fallback_check(cloud: Any) -> None:
    lab = new_lab(cloud, stubs=True, await_seconds=1)
    web = f"{lab.event['stack_prefix']}Web"
    with cloud.scaled_time(TIME_SCALE), losing(web):
        deployed = lab.run("deploy")
    assert deployed.status == "SUCCEEDED", deployed.cause
    assert deployed.output["stacks"]["web"]["status"] == "CREATE_COMPLETE"
    assert web not in answered_by_events(lab)
    assert "Check Web" in lab.states(deployed)  # the fallback found it complete
    assert lab.run("teardown").status == "SUCCEEDED"


def test_a_failed_stack_event_ends_in_stack_failed(cloud: Any) -> None:
    lab = new_lab(cloud, stubs=True)
    database = f"{lab.event['stack_prefix']}Database"
    with cloud.scaled_time(TIME_SCALE), cloud.failing_stacks(database, "disk on fire"):
        deployed = lab.run("deploy")
    assert (deployed.status, deployed.error) == ("FAILED", "StackFailed")
    assert database in deployed.cause and "disk on fire" in deployed.cause
    assert database in answered_by_events(lab)
    assert lab.run("teardown").status == "SUCCEEDED"
