"""Gap 73: the Lambda runtime writes an invocation's logs with the function's execution role, as
on AWS: a role without ``logs:CreateLogStream``/``logs:PutLogEvents`` loses its logs, and the
denial is in the access log."""

from __future__ import annotations

import json
from typing import Any

from reslab.localcloud.testing import lambda_role, unique_prefix, zip_files

REGION = "us-east-2"
CODE = "def handler(event, context):\n    print('hello from the handler')\n    return 1\n"


def _role_without_logs(cloud: Any, name: str) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"Service": "lambda.amazonaws.com"},
            }
        ],
    }
    iam = cloud.client("iam")
    return str(
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    )


def _invoke(cloud: Any, role: str) -> tuple[str, list[str]]:
    name = unique_prefix("logs")
    lam = cloud.client("lambda", REGION)
    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": zip_files({"app.py": CODE})},
    )
    try:
        assert lam.invoke(FunctionName=name)["Payload"].read() == b"1"
        logs = cloud.client("logs", REGION)
        group = f"/aws/lambda/{name}"
        streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
        lines = [
            e["message"]
            for s in streams
            for e in logs.get_log_events(logGroupName=group, logStreamName=s["logStreamName"])[
                "events"
            ]
        ]
        return name, lines
    finally:
        lam.delete_function(FunctionName=name)


def test_a_role_with_the_log_grants_gets_its_logs(local_cloud: Any) -> None:
    _, lines = _invoke(local_cloud, lambda_role(local_cloud))
    assert "hello from the handler" in lines


def test_a_role_without_them_loses_its_logs_and_the_denial_is_logged(local_cloud: Any) -> None:
    role = _role_without_logs(local_cloud, unique_prefix("nologs"))
    before = local_cloud.access_log.size()
    name, lines = _invoke(local_cloud, role)
    assert lines == []
    denied = [
        e
        for e in local_cloud.access_log.entries()[before:]
        if e.operation == "lambda runtime logs" and e.role == role
    ]
    assert denied, "the runtime's log write was not authorized with the function's role"
    assert not any(e.allowed for e in denied)
    assert {e.action for e in denied} == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert f"log-group:/aws/lambda/{name}:log-stream:" in denied[0].resource
