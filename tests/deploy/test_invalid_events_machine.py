"""Malformed events sent to the real deploy machine: its first state rejects each one."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reslab import execution
from tests.deploy.cases import (
    ISSUE_12_MUTATIONS,
    LAB_SHAPES,
    MALFORMED,
    TOO_LARGE_FOR_STEP_FUNCTIONS,
    malformed,
)
from tests.deploy.conftest import REGIONS, Lab, new_lab


def _all_stacks(lab: Lab) -> set[str]:
    names = set()
    for region in REGIONS:
        for page in lab.client("cloudformation", region).get_paginator("list_stacks").paginate():
            names |= {(s["StackId"], s["StackStatus"]) for s in page["StackSummaries"]}
    return names


@pytest.fixture(scope="module")
def lab(cloud: Any) -> Lab:
    return new_lab(cloud, stubs=True)


@pytest.fixture(scope="module")
def rejected(lab: Lab) -> dict[str, tuple[execution.Outcome, list[str]]]:
    """Every malformed event started at once on one installed lab; outcomes by case id."""
    stacks_before, buckets_before = _all_stacks(lab), lab.buckets()
    sfn = lab.client("stepfunctions")
    machine = lab.installation.machines["deploy"]
    arns = {
        case: execution.start(sfn, machine, malformed(lab.event, change), "bad")
        for case, change, _ in MALFORMED
    }
    for shape, base in LAB_SHAPES.items():
        valid = malformed(lab.event, base)
        for case, change, _ in ISSUE_12_MUTATIONS:
            event = malformed(valid, change)
            arns[f"{shape}/{case}"] = execution.start(sfn, machine, event, "bad")
    with ThreadPoolExecutor(8) as pool:
        outcomes = dict(zip(arns, pool.map(lambda a: execution.wait(sfn, a), arns.values())))
    result = {case: (outcomes[case], execution.entered_states(sfn, arns[case])) for case in arns}
    # Nothing was created by any of them: no stack (in any status) and no bucket.
    assert _all_stacks(lab) == stacks_before
    assert lab.buckets() == buckets_before
    return result


@pytest.mark.parametrize(("case", "key"), [(c, k) for c, _, k in MALFORMED])
def test_first_state_rejects_with_invalid_event(
    rejected: dict[str, tuple[execution.Outcome, list[str]]], case: str, key: str
) -> None:
    outcome, states = rejected[case]
    assert (outcome.status, outcome.error) == ("FAILED", "InvalidEvent")
    assert outcome.cause.startswith(f"{key}: ")
    assert states == ["Validate event", "Invalid event"]


@pytest.mark.parametrize(
    ("shape", "case", "key"),
    [(shape, c, k) for shape in LAB_SHAPES for c, _, k in ISSUE_12_MUTATIONS],
)
def test_issue_12_mutations_on_each_engine_and_region_shape(
    rejected: dict[str, tuple[execution.Outcome, list[str]]], shape: str, case: str, key: str
) -> None:
    outcome, states = rejected[f"{shape}/{case}"]
    assert (outcome.status, outcome.error) == ("FAILED", "InvalidEvent")
    assert outcome.cause.startswith(f"{key}: ")
    assert len(outcome.cause) < 1000  # the 5 MB value is not echoed
    assert states == ["Validate event", "Invalid event"]


@pytest.mark.parametrize("shape", LAB_SHAPES)
def test_an_event_over_step_functions_input_limit_is_refused_before_the_machine_starts(
    lab: Lab, shape: str
) -> None:
    """Issue 12's 5 MB boot_object: AWS refuses the StartExecution itself (gap 75); the CLI
    refuses it earlier still (test_event_properties)."""
    sfn = lab.client("stepfunctions")
    machine = lab.installation.machines["deploy"]
    before = sfn.list_executions(stateMachineArn=machine)["executions"]
    event = malformed(malformed(lab.event, LAB_SHAPES[shape]), TOO_LARGE_FOR_STEP_FUNCTIONS)
    with pytest.raises(ClientError) as refused:
        execution.start(sfn, machine, event, "huge")
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert sfn.list_executions(stateMachineArn=machine)["executions"] == before
