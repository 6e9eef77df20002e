"""Small helpers for tests and scripts that use the local cloud (shared by every area).

The ``local_cloud`` fixture is session-scoped, so isolate tests by NAME, not by reset():
``prefix = unique_prefix("deploy")`` -> ``"deploy-3f9a1c"``; name stacks/functions/state machines
``f"{prefix}..."``; clean up what you create.
"""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

TERMINAL_STACK_SUFFIXES = ("_COMPLETE", "_FAILED")


def unique_prefix(area: str = "t") -> str:
    return f"{area}-{uuid.uuid4().hex[:6]}"


def zip_files(files: Mapping[str, str | bytes]) -> bytes:
    """A Lambda deployment zip from {archive path: content}."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buf.getvalue()


def zip_directory(directory: Path) -> bytes:
    """A Lambda deployment zip of a directory's files (paths relative to it)."""
    return zip_files(
        {
            str(path.relative_to(directory)): path.read_bytes()
            for path in sorted(directory.rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts
        }
    )


def wait_for_execution(sfn: Any, execution_arn: str, timeout: float = 60) -> dict[str, Any]:
    """Poll DescribeExecution until it leaves RUNNING; returns the description."""
    deadline = time.monotonic() + timeout
    while True:
        desc: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if desc["status"] != "RUNNING" or time.monotonic() > deadline:
            return desc
        time.sleep(0.1)


def wait_for_stack(cfn: Any, stack_name: str, timeout: float = 60) -> dict[str, Any]:
    """Poll DescribeStacks until the stack's status is terminal; returns the stack."""
    deadline = time.monotonic() + timeout
    while True:
        stack: dict[str, Any] = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        if stack["StackStatus"].endswith(TERMINAL_STACK_SUFFIXES) or time.monotonic() > deadline:
            return stack
        time.sleep(0.1)


DEFAULT_LAMBDA_ROLE = "reslab-local-lambda"


def lambda_role(
    cloud: Any, name: str = DEFAULT_LAMBDA_ROLE, also: Sequence[Mapping[str, Any]] = ()
) -> str:
    """ARN of an IAM role Lambda/Step Functions accept (created on first use) that may invoke
    the account's functions and start its state machines.

    ``also``: further policy statements, what a test's own functions call (an inline policy
    ``test-calls``, as an administrator would grant it); the role is shared by name, so a test
    with its own grants names its own role."""
    if also and name == DEFAULT_LAMBDA_ROLE:
        raise ValueError("a role with further grants needs its own name (the default is shared)")
    iam = cloud.client("iam")
    policy = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole",'
        '"Principal":{"Service":["lambda.amazonaws.com","states.amazonaws.com"]}}]}'
    )
    try:
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        arn = str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=policy)["Role"]["Arn"])
    account = arn.split(":")[4]
    # what the tests' machines do with it when the cloud enforces IAM: run the account's
    # functions and nested executions (scoped to the account, as a lab role is)
    grants = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "lambda:InvokeFunction",
                "Resource": f"arn:aws:lambda:*:{account}:function:*",
            },
            {
                "Effect": "Allow",
                "Action": ["states:StartExecution", "states:DescribeExecution"],
                "Resource": [
                    f"arn:aws:states:*:{account}:stateMachine:*",
                    f"arn:aws:states:*:{account}:execution:*",
                ],
            },
        ],
    }
    iam.put_role_policy(
        RoleName=name, PolicyName="test-machines", PolicyDocument=json.dumps(grants)
    )
    if also:
        calls = {"Version": "2012-10-17", "Statement": [dict(s) for s in also]}
        iam.put_role_policy(
            RoleName=name, PolicyName="test-calls", PolicyDocument=json.dumps(calls)
        )
    return arn
