"""Create-or-update helpers over the AWS APIs (roles, functions, state machines), for what is
installed outside the installer stack: ``reslab.restore.install`` (the restore machine alone,
e.g. against a database that is not a lab's).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from reslab.packaging import HANDLER, RUNTIME

LAMBDA_TIMEOUT_SECONDS = 60
LAMBDA_MEMORY_MB = 256
_NEW_ROLE_CODES = ("InvalidParameterValueException", "AccessDeniedException")


def workshop_tags(workshop: str) -> list[dict[str, str]]:
    """The workshop tag in the Key/Value list most AWS APIs take."""
    return [{"Key": "workshop", "Value": workshop}]


def _trust(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def ensure_role(iam: Any, name: str, service: str, policy: Mapping[str, Any], workshop: str) -> str:
    try:
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchEntity":
            raise
        arn = iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=_trust(service), Tags=workshop_tags(workshop)
        )["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName=name, PolicyDocument=json.dumps(policy))
    return str(arn)


def _retry_new_role(call: Callable[[], Any], attempts: int = 10) -> Any:
    """IAM is eventually consistent on AWS: a brand-new role cannot be assumed for a few seconds."""
    for attempt in range(attempts):
        try:
            return call()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            new_role = code in _NEW_ROLE_CODES and "role" in str(exc).lower()
            if not new_role or attempt == attempts - 1:
                raise
            time.sleep(2 + attempt)
    raise AssertionError("unreachable")


def ensure_function(
    lam: Any, name: str, role_arn: str, code: bytes, workshop: str, env: Mapping[str, str]
) -> str:
    config = {
        "Role": role_arn,
        "Handler": HANDLER,
        "Runtime": RUNTIME,
        "Timeout": LAMBDA_TIMEOUT_SECONDS,
        "MemorySize": LAMBDA_MEMORY_MB,
        "Environment": {"Variables": dict(env)},
    }
    try:
        existing = lam.get_function(FunctionName=name)["Configuration"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        created = _retry_new_role(
            lambda: lam.create_function(
                FunctionName=name,
                Code={"ZipFile": code},
                Tags={"workshop": workshop},
                **config,
            )
        )
        return str(created["FunctionArn"])
    lam.update_function_code(FunctionName=name, ZipFile=code)
    _wait_function_updated(lam, name)
    lam.update_function_configuration(FunctionName=name, **config)
    _wait_function_updated(lam, name)
    return str(existing["FunctionArn"])


def _wait_function_updated(lam: Any, name: str) -> None:
    for _ in range(60):
        status = lam.get_function_configuration(FunctionName=name).get("LastUpdateStatus")
        if status in (None, "Successful", "Failed"):
            return
        time.sleep(1)


def ensure_state_machine(sfn: Any, name: str, definition: str, role_arn: str, workshop: str) -> str:
    for machine in _list_machines(sfn):
        if machine["name"] == name:
            arn = str(machine["stateMachineArn"])
            sfn.update_state_machine(stateMachineArn=arn, definition=definition, roleArn=role_arn)
            return arn
    created = _retry_new_role(
        lambda: sfn.create_state_machine(
            name=name,
            definition=definition,
            roleArn=role_arn,
            tags=[{"key": "workshop", "value": workshop}],
        )
    )
    return str(created["stateMachineArn"])


def _list_machines(sfn: Any) -> list[dict[str, Any]]:
    machines: list[dict[str, Any]] = []
    for page in sfn.get_paginator("list_state_machines").paginate():
        machines.extend(page["stateMachines"])
    return machines


def invoke_policy(function_arns: Iterable[str], *extra: Mapping[str, Any]) -> dict[str, Any]:
    """A state machine role's policy: invoke exactly these Lambdas (plus ``extra`` statements)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "lambda:InvokeFunction",
                "Resource": sorted(function_arns),
            },
            *extra,
        ],
    }
