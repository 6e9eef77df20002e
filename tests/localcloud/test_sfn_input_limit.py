"""Gap 75: Step Functions refuses an execution input over 256 KiB of UTF-8 before the execution
exists (``ValidationException``), as AWS does; 256 KiB exactly starts. (moto's interpreter
measures a state's output as ASCII-escaped JSON with spaces, more bytes than AWS counts: a Pass
state fails 256 KiB exactly, and far less of non-ASCII text, with ``States.DataLimitExceeded``;
so the run itself is shown with ASCII a little under the limit.)"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reslab.localcloud.compat.stepfunctions import MAX_INPUT_BYTES
from reslab.localcloud.testing import lambda_role, unique_prefix, wait_for_execution


def _input(size: int, char: str = "x") -> str:
    """A JSON object of exactly ``size`` bytes of UTF-8 (``char`` is one or two bytes)."""
    body = size - len('{"v":""}')
    width = len(char.encode())
    text = char * (body // width) + "y" * (body % width)
    made = json.dumps({"v": text}, ensure_ascii=False, separators=(",", ":"))
    assert len(made.encode()) == size
    return made


@pytest.fixture(scope="module")
def machine(local_cloud: Any) -> str:
    sfn = local_cloud.client("stepfunctions", "us-east-2")
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
    return sfn.create_state_machine(
        name=unique_prefix("limit"),
        definition=json.dumps(definition),
        roleArn=lambda_role(local_cloud),
    )["stateMachineArn"]


@pytest.mark.parametrize("char", ["x", "é"], ids=["ascii", "two-byte-utf8"])
def test_an_input_over_256_kib_is_refused_and_starts_nothing(
    local_cloud: Any, machine: str, char: str
) -> None:
    sfn = local_cloud.client("stepfunctions", "us-east-2")
    before = sfn.list_executions(stateMachineArn=machine)["executions"]
    with pytest.raises(ClientError) as refused:
        sfn.start_execution(stateMachineArn=machine, input=_input(MAX_INPUT_BYTES + 1, char))
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "262144" in refused.value.response["Error"]["Message"]
    assert sfn.list_executions(stateMachineArn=machine)["executions"] == before


def test_an_input_of_256_kib_exactly_is_started(local_cloud: Any, machine: str) -> None:
    sfn = local_cloud.client("stepfunctions", "us-east-2")
    started = sfn.start_execution(stateMachineArn=machine, input=_input(MAX_INPUT_BYTES, "é"))
    listed = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert started["executionArn"] in {e["executionArn"] for e in listed}


def test_a_large_input_under_the_limit_runs(local_cloud: Any, machine: str) -> None:
    sfn = local_cloud.client("stepfunctions", "us-east-2")
    started = sfn.start_execution(stateMachineArn=machine, input=_input(250_000))
    assert wait_for_execution(sfn, started["executionArn"])["status"] == "SUCCEEDED"
