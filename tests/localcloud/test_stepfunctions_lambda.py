"""Step Functions executing real ASL with Lambdas run as child Python processes."""

from __future__ import annotations

import json

import pytest

from reslab.localcloud.testing import lambda_role, unique_prefix, wait_for_execution, zip_files

HANDLER = """
import os
import time

import boto3


class InvalidEvent(Exception):
    pass


def handler(event, context):
    print("event", event)
    if event.get("fail"):
        raise InvalidEvent("the event has no 'workshop' key")
    if event.get("sleep"):
        time.sleep(event["sleep"])
    stacks = boto3.client("cloudformation").describe_stacks()["Stacks"]
    return {"wait": 1, "region": os.environ["AWS_REGION"], "stacks": len(stacks),
            "name": context.function_name, "greeting": os.environ["GREETING"]}
"""

#: What the handler and the machines' SDK task call, granted to the role of both.
ROLE = "reslab-local-lambda-describe-stacks"
CALLS = [{"Effect": "Allow", "Action": "cloudformation:DescribeStacks", "Resource": "*"}]


@pytest.fixture(scope="module")
def function(local_cloud):
    name = unique_prefix("fn")
    lam = local_cloud.client("lambda", "us-east-2")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=lambda_role(local_cloud, ROLE, CALLS),
        Handler="app.handler",
        Code={"ZipFile": zip_files({"app.py": HANDLER})},
        Timeout=2,
        Environment={"Variables": {"GREETING": "hello"}},
    )
    yield name
    lam.delete_function(FunctionName=name)


def test_invoke_runs_the_zip_with_the_function_environment(local_cloud, function):
    lam = local_cloud.client("lambda", "us-east-2")
    resp = lam.invoke(FunctionName=function, Payload=b"{}")
    assert "FunctionError" not in resp
    body = json.loads(resp["Payload"].read())
    assert body["region"] == "us-east-2"
    assert body["name"] == function
    assert body["greeting"] == "hello"
    logs = local_cloud.client("logs", "us-east-2")
    streams = logs.describe_log_streams(logGroupName=f"/aws/lambda/{function}")["logStreams"]
    assert streams


def test_error_is_formatted_like_aws_lambda(local_cloud, function):
    lam = local_cloud.client("lambda", "us-east-2")
    resp = lam.invoke(FunctionName=function, Payload=json.dumps({"fail": True}))
    assert resp["FunctionError"]
    body = json.loads(resp["Payload"].read())
    assert body["errorType"] == "InvalidEvent"
    assert "workshop" in body["errorMessage"]


def test_timeout_kills_the_function(local_cloud, function):
    lam = local_cloud.client("lambda", "us-east-2")
    resp = lam.invoke(FunctionName=function, Payload=json.dumps({"sleep": 30}))
    body = json.loads(resp["Payload"].read())
    assert resp["FunctionError"]
    assert body["errorType"] == "Sandbox.Timedout"
    assert "timed out after 2.00 seconds" in body["errorMessage"]


def _machine(local_cloud, definition: dict) -> str:
    sfn = local_cloud.client("stepfunctions", "us-east-2")
    return sfn.create_state_machine(
        name=unique_prefix("sm"),
        definition=json.dumps(definition),
        roleArn=lambda_role(local_cloud, ROLE, CALLS),
    )["stateMachineArn"]


def test_lambda_sdk_wait_and_catch_by_error_name(local_cloud, function):
    definition = {
        "StartAt": "Validate",
        "States": {
            "Validate": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": function, "Payload.$": "$"},
                "ResultSelector": {"wait.$": "$.Payload.wait"},
                "ResultPath": "$.checked",
                "Catch": [
                    {"ErrorEquals": ["InvalidEvent"], "ResultPath": "$.error", "Next": "Bad"}
                ],
                "Next": "Pause",
            },
            "Pause": {"Type": "Wait", "SecondsPath": "$.checked.wait", "Next": "Describe"},
            "Describe": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:cloudformation:describeStacks",
                "ResultSelector": {"count.$": "States.ArrayLength($.Stacks)"},
                "End": True,
            },
            "Bad": {"Type": "Fail", "Error": "InvalidEvent", "Cause": "caught"},
        },
    }
    arn = _machine(local_cloud, definition)
    sfn = local_cloud.client("stepfunctions", "us-east-2")
    ok = wait_for_execution(sfn, sfn.start_execution(stateMachineArn=arn)["executionArn"])
    assert ok["status"] == "SUCCEEDED", ok
    assert "count" in json.loads(ok["output"])
    bad = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"fail": True}))
    failed = wait_for_execution(sfn, bad["executionArn"])
    assert failed["status"] == "FAILED"
    assert failed["error"] == "InvalidEvent"
    assert failed["cause"] == "caught"


def test_nested_start_execution_sync2(local_cloud):
    child = _machine(
        local_cloud,
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"x": 1}, "End": True}}},
    )
    parent = _machine(
        local_cloud,
        {
            "StartAt": "Run",
            "States": {
                "Run": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution.sync:2",
                    "Parameters": {"StateMachineArn": child, "Input": {"a": 1}},
                    "OutputPath": "$.Output",
                    "End": True,
                }
            },
        },
    )
    sfn = local_cloud.client("stepfunctions", "us-east-2")
    for _ in range(2):  # two unnamed executions: each gets its own generated name
        desc = wait_for_execution(sfn, sfn.start_execution(stateMachineArn=parent)["executionArn"])
        assert desc["status"] == "SUCCEEDED", desc
        assert json.loads(desc["output"]) == {"x": 1}


def test_a_caught_states_error_is_re_raised_by_name(local_cloud):
    """Gap 64: a Fail state re-raising a nested execution's States.TaskFailed by ErrorPath (the
    deploy machine's 'Deploy failed'), and a Parallel branch failing with it, report that name;
    moto's interpreter ended the execution with ValueError (Custom Error Names MUST NOT begin
    with the prefix 'States.')."""
    child = _machine(
        local_cloud,
        {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "x"}}},
    )
    nested = {
        "Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": child},
        "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Bad"}],
        "End": True,
    }
    rethrow = {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}
    parent = _machine(
        local_cloud, {"StartAt": "Run", "States": {"Run": {**nested}, "Bad": rethrow}}
    )
    in_branch = _machine(
        local_cloud,
        {
            "StartAt": "Both",
            "States": {
                "Both": {
                    "Type": "Parallel",
                    "Branches": [{"StartAt": "Run", "States": {"Run": nested, "Bad": rethrow}}],
                    "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught again"}],
                    "End": True,
                },
                "Caught again": {"Type": "Fail", "Error": "States.TaskFailed", "Cause": "again"},
            },
        },
    )
    sfn = local_cloud.client("stepfunctions", "us-east-2")
    desc = wait_for_execution(sfn, sfn.start_execution(stateMachineArn=parent)["executionArn"])
    assert (desc["status"], desc.get("error")) == ("FAILED", "States.TaskFailed"), desc
    assert json.loads(desc["cause"])["Status"] == "FAILED"
    desc = wait_for_execution(sfn, sfn.start_execution(stateMachineArn=in_branch)["executionArn"])
    assert (desc["status"], desc.get("error"), desc.get("cause")) == (
        "FAILED",
        "States.TaskFailed",
        "again",
    ), desc
