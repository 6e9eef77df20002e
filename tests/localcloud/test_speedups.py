"""What the local cloud keeps between requests (``reslab.localcloud.speedups``) changes no answer:
a kept parse still gives each run its own program, a bad definition is refused every time, and
kept clients follow the credentials and endpoint they were made for."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reslab.localcloud import speedups
from reslab.localcloud.testing import lambda_role, unique_prefix


def _definition(result: str) -> str:
    return json.dumps(
        {
            "StartAt": "Count",
            "States": {
                "Count": {"Type": "Pass", "Result": {"n": result}, "Next": "Done"},
                "Done": {"Type": "Succeed"},
            },
        }
    )


def _run(sfn: Any, arn: str, name: str) -> dict[str, Any]:
    execution = sfn.start_execution(stateMachineArn=arn, name=name, input="{}")
    deadline = time.monotonic() + 60
    while True:
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.05)


def test_a_kept_parse_runs_every_execution_with_its_own_program(local_cloud: Any) -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    sfn = local_cloud.client("stepfunctions")
    definition = _definition(unique_prefix("kept"))
    arn = sfn.create_state_machine(
        name=unique_prefix("speed"), definition=definition, roleArn=lambda_role(local_cloud)
    )["stateMachineArn"]
    assert speedups.parse_tree(definition) is not None  # kept by the create's validation

    outputs = [_run(sfn, arn, f"run-{i}") for i in range(3)]
    assert [o["status"] for o in outputs] == ["SUCCEEDED"] * 3
    assert len({o["output"] for o in outputs}) == 1
    assert json.loads(outputs[0]["output"])["n"].startswith("kept-")

    first, tree = AmazonStateLanguageParser.parse(definition)
    second, same_tree = AmazonStateLanguageParser.parse(definition)
    assert same_tree is tree and first is not second


def test_a_bad_definition_is_refused_every_time(local_cloud: Any) -> None:
    sfn = local_cloud.client("stepfunctions")
    broken = _definition("x").replace('"Type": "Succeed"', '"Type": "Succeed", "Nope": 1')
    for _ in range(2):
        with pytest.raises(ClientError) as refused:
            sfn.create_state_machine(
                name=unique_prefix("bad"), definition=broken, roleArn=lambda_role(local_cloud)
            )
        assert refused.value.response["Error"]["Code"] == "InvalidDefinition"
    assert speedups.parse_tree(broken) is None


def test_a_lambdas_client_is_kept_for_its_credentials_and_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from reslab_lambda import aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "first")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "first")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    kept = aws.client("ssm", "us-east-2")
    assert aws.client("ssm", "us-east-2") is kept
    assert aws.client("ssm", "us-west-2") is not kept
    assert kept.meta.endpoint_url == "http://127.0.0.1:1"

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "rotated")
    assert aws.client("ssm", "us-east-2") is not kept

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:2")
    assert aws.client("ssm", "us-east-2").meta.endpoint_url == "http://127.0.0.1:2"
