"""Real executions of the deploy/teardown machines in the local cloud, with stub templates."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from reslab import execution
from reslab_lambda.stacks import stack_table
from tests.deploy.conftest import Lab, new_lab
from tests.deploy.stubs import output_value

KEYS = [spec.key for spec in stack_table()]
DMS_MODE = {spec.key for spec in stack_table() if spec.switch == "dms"}
#: What a stub lab deploys (the DMS mode is opt-in, and its stub has no task to start).
DEPLOYED = [key for key in KEYS if key not in DMS_MODE]


def dependants(key: str) -> set[str]:
    """Every stack that depends on ``key``, directly or not."""
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for spec in stack_table():
            if spec.key not in found and ({key} | found) & set(spec.depends_on):
                found.add(spec.key)
                changed = True
    return found


def test_full_deploy_order_handoff_and_teardown(stub_lab: Lab) -> None:
    outcome = stub_lab.run("deploy")
    assert outcome.status == "SUCCEEDED", outcome.cause
    handoff = outcome.output["stacks"]
    assert set(handoff) == set(KEYS)
    for key, entry in handoff.items():  # the two-region DMS mode is opt-in (event dms)
        expected = "SKIPPED" if key in DMS_MODE else "CREATE_COMPLETE"
        assert entry["status"] == expected, key
    assert handoff["replica"]["region"] == "us-west-2"
    assert handoff["vpc"] == {
        "stackname": f"{stub_lab.event['stack_prefix']}VPC",
        "status": "CREATE_COMPLETE",
        "region": "us-east-2",
    }

    states = stub_lab.states(outcome)
    assert states[0] == "Validate event"
    first = {s: states.index(s) for s in set(states)}
    # VPC and Storage run as two branches of one Parallel, before anything else is created.
    level0, collect0 = "Deploy VPC + Storage + SecondaryVPC", "Collect VPC + Storage + SecondaryVPC"
    assert first[level0] < first["Create VPC"] < first[collect0]
    assert first[level0] < first["Create Storage"] < first[collect0]
    assert first[collect0] < first["Create Database"] < first["Collect Database"]
    assert first["Collect Database"] < first["Create Replica"] < first["Collect Replica + Web"]
    assert first["Collect Database"] < first["Create Web"] < first["Collect Replica + Web"]

    stacks = stub_lab.stacks()
    # Parameters of later stacks come from the outputs of the stacks they depend on.
    params = {p["ParameterKey"]: p["ParameterValue"] for p in stacks["database"]["Parameters"]}
    assert params["PrivateSubnetIds"] == output_value("vpc", "PrivateSubnetIds")
    assert params["Workshop"] == stub_lab.event["workshop"]
    web = {p["ParameterKey"]: p["ParameterValue"] for p in stacks["web"]["Parameters"]}
    bucket = next(o["OutputValue"] for o in stacks["storage"]["Outputs"]
                  if o["OutputKey"] == "WebsiteBucketName")  # fmt: skip
    assert web["WebsiteBucketName"] == bucket
    assert web["EndpointAddress"] == output_value("database", "EndpointAddress")
    for stack in stacks.values():
        assert {"Key": "workshop", "Value": stub_lab.event["workshop"]} in stack["Tags"]

    # A versioned bucket with several versions and a delete marker must not stop the teardown.
    s3 = stub_lab.client("s3")
    for body in (b"one", b"two"):
        s3.put_object(Bucket=bucket, Key="index.html", Body=body)
    s3.delete_object(Bucket=bucket, Key="index.html")
    torn = stub_lab.run("teardown")
    assert torn.status == "SUCCEEDED", torn.cause
    assert stub_lab.stacks() == {}
    assert bucket not in stub_lab.buckets()
    assert set(torn.output["stacks"]) == set(KEYS)


def test_resume_after_failure_then_rerun_is_a_noop(stub_lab: Lab) -> None:
    prefix = stub_lab.event["stack_prefix"]
    with stub_lab.cloud.failing_stacks(f"{prefix}Database", "disk on fire"):
        failed = stub_lab.run("deploy")
    assert (failed.status, failed.error) == ("FAILED", "StackFailed")
    before = stub_lab.stacks()
    assert before["database"]["StackStatus"] == "ROLLBACK_COMPLETE"

    resumed = stub_lab.run("deploy")
    assert resumed.status == "SUCCEEDED", resumed.cause
    after = stub_lab.stacks()
    assert after["vpc"]["StackId"] == before["vpc"]["StackId"]
    assert after["storage"]["StackId"] == before["storage"]["StackId"]
    assert after["database"]["StackId"] != before["database"]["StackId"]
    assert {s["StackStatus"] for s in after.values()} == {"CREATE_COMPLETE"}

    # The lab is up: running the deploy again changes nothing and never waits.
    again = stub_lab.run("deploy")
    assert again.status == "SUCCEEDED", again.cause
    assert {k: s["StackId"] for k, s in stub_lab.stacks().items()} == {
        k: s["StackId"] for k, s in after.items()
    }
    assert not [s for s in stub_lab.states(again) if s.startswith("Wait ")]
    assert stub_lab.run("teardown").status == "SUCCEEDED"
    assert stub_lab.stacks() == {}


@dataclass
class FailureCase:
    lab: Lab
    stack_name: str
    deploy: execution.Outcome
    stacks_after_deploy: dict[str, Any]
    teardown: execution.Outcome
    stacks_after_teardown: dict[str, Any]


def _fail_in_turn(cloud: Any, key: str) -> FailureCase:
    lab = new_lab(cloud, stubs=True)
    spec = next(s for s in stack_table() if s.key == key)
    stack_name = f"{lab.event['stack_prefix']}{spec.suffix}"
    with cloud.failing_stacks(stack_name, f"injected failure of {key}"):
        deploy = lab.run("deploy")
    after_deploy = lab.stacks()
    teardown = lab.run("teardown")
    return FailureCase(lab, stack_name, deploy, after_deploy, teardown, lab.stacks())


@pytest.fixture(scope="module")
def failure_cases(cloud: Any) -> dict[str, FailureCase]:
    """Each stack made to fail in its own lab; the five labs run at the same time."""
    with ThreadPoolExecutor(len(DEPLOYED)) as pool:
        futures = {key: pool.submit(_fail_in_turn, cloud, key) for key in DEPLOYED}
        return {key: future.result() for key, future in futures.items()}


@pytest.mark.parametrize("key", DEPLOYED)
def test_a_failing_stack_fails_the_execution_and_nothing_is_built_on_it(
    failure_cases: dict[str, FailureCase], key: str
) -> None:
    case = failure_cases[key]
    assert (case.deploy.status, case.deploy.error) == ("FAILED", "StackFailed")
    assert case.stack_name in case.deploy.cause
    assert f"injected failure of {key}" in case.deploy.cause
    built = set(case.stacks_after_deploy)
    assert not dependants(key) & built, f"built on a failed {key}: {built}"
    assert case.stacks_after_deploy[key]["StackStatus"] == "ROLLBACK_COMPLETE"
    assert case.teardown.status == "SUCCEEDED", case.teardown.cause
    assert case.stacks_after_teardown == {}


def test_teardown_of_a_lab_that_never_existed_succeeds(stub_lab: Lab) -> None:
    outcome = stub_lab.run("teardown")
    assert outcome.status == "SUCCEEDED", outcome.cause
    statuses: dict[str, Any] = {k: v["status"] for k, v in outcome.output["stacks"].items()}
    assert {k: v for k, v in statuses.items() if k not in DMS_MODE} == dict.fromkeys(
        DEPLOYED, "DELETE_COMPLETE"
    )
    assert {statuses[k] for k in DMS_MODE} == {"SKIPPED"}


def test_without_secondary_region_the_replica_is_skipped(stub_lab: Lab) -> None:
    event = {k: v for k, v in stub_lab.event.items() if k != "secondary_region_name"}
    outcome = stub_lab.run("deploy", event)
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert outcome.output["stacks"]["replica"]["status"] == "SKIPPED"
    assert "replica" not in stub_lab.stacks()
    assert stub_lab.run("teardown", event).status == "SUCCEEDED"
    assert stub_lab.stacks() == {}
