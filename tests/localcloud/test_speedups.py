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


@pytest.mark.parametrize("machine", ["deploy", "teardown", "restore"])
def test_the_fast_parse_gives_the_full_parses_tree(machine: str) -> None:
    from antlr4 import CommonTokenStream, InputStream
    from moto.stepfunctions.parser.asl.antlr.runtime.ASLLexer import ASLLexer
    from moto.stepfunctions.parser.asl.antlr.runtime.ASLParser import ASLParser

    from reslab import REPO_ROOT

    definition = (REPO_ROOT / "statemachine" / f"{machine}.asl.json").read_text()
    full = ASLParser(CommonTokenStream(ASLLexer(InputStream(definition)))).state_machine()
    fast = speedups.sll_parse_tree(definition)
    assert fast is not None
    assert fast.toStringTree(recog=fast.parser) == full.toStringTree(recog=full.parser)


def test_the_fast_parse_leaves_a_broken_definition_to_the_full_one() -> None:
    assert speedups.sll_parse_tree('{"StartAt": "A", "States": {"A": {"Type": "Pass",}}}') is None
    assert speedups.sll_parse_tree('{"StartAt": "A", "States": {"A": {"Type": "Pass"}}') is None


def test_json_and_yaml_templates_read_as_before(local_cloud: Any) -> None:
    cfn = local_cloud.client("cloudformation")
    json_body = json.dumps(
        {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {"Year": {"Value": "2012-10-17"}},
        }
    )
    yaml_body = (
        'Resources:\n  Topic: {Type: "AWS::SNS::Topic"}\n'
        "Outputs:\n  Name: {Value: !GetAtt Topic.TopicName}\n"
    )
    for body in (json_body, yaml_body):
        name = unique_prefix("tpl")
        cfn.create_stack(StackName=name, TemplateBody=body)
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        assert outputs.get("Year", "2012-10-17") == "2012-10-17"  # a string, not a YAML date
        cfn.delete_stack(StackName=name)
    summary = cfn.get_template_summary(TemplateBody=yaml_body)
    assert summary["ResourceTypes"] == ["AWS::SNS::Topic"]
