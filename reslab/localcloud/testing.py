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
    the account's functions and start its state machines; its functions may write their logs.

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
            {  # the Lambda runtime writes each invocation's logs with the role (gap 73)
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"arn:aws:logs:*:{account}:log-group:/aws/lambda/*",
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


#: The role each fleet target row names: the trainer's role in the participant's account.
TRAINER_ROLE = "ReslabFleetTrainer"


def _installer_stack_actions() -> list[str]:
    """The create/delete handler actions of the installer template's resource types."""
    from reslab import REPO_ROOT
    from reslab.iam.cfn_handlers import handler_actions
    from reslab.templates import load_template

    template = load_template(REPO_ROOT / "cloudformation" / "installer.yaml")
    actions = handler_actions(r["Type"] for r in template["Resources"].values())
    return [a for a in actions if not a.startswith("iam:")]  # InstallRoles scopes IAM's


def trainer_policy(account: str, name_prefix: str, stack_prefix: str) -> dict[str, Any]:
    """What docs/trainer-guide.md says the trainer's role carries: the installer permissions of
    docs/install-aws.md#permissions, on the class's installs (``<name_prefix>*``: functions,
    roles, machines, buckets, the installer stacks) and lab stacks (``<stack_prefix>*``), plus
    what the tests' stub step does with it (tests/deploy/stubs.py). An administrator's grant to
    the test's (or benchmark's) own principal; the lab's policies are untouched."""
    arn = f"arn:aws:{{}}:*:{account}:{{}}"
    installs = {
        "stacks": [
            arn.format("cloudformation", f"stack/{name_prefix}*/*"),
            arn.format("cloudformation", f"stack/{stack_prefix}*/*"),
        ],
        "buckets": [f"arn:aws:s3:::{name_prefix}*", f"arn:aws:s3:::{name_prefix}*/*"],
        "roles": [
            f"arn:aws:iam::{account}:role/{name_prefix}*",
            f"arn:aws:iam::{account}:policy/{name_prefix}*",
        ],
    }
    statements = [
        {
            "Sid": "Buckets",
            "Effect": "Allow",
            "Action": [
                "s3:CreateBucket",
                "s3:PutBucketTagging",
                "s3:PutObject",
                "s3:GetObject",
                "s3:ListBucket",
            ],
            "Resource": installs["buckets"],
        },
        {
            "Sid": "Stacks",
            "Effect": "Allow",
            "Action": [
                "cloudformation:CreateStack",
                "cloudformation:UpdateStack",
                "cloudformation:CreateChangeSet",
                "cloudformation:ExecuteChangeSet",
                "cloudformation:DescribeChangeSet",
                "cloudformation:DescribeStacks",
                "cloudformation:DescribeStackEvents",
                "cloudformation:GetTemplateSummary",
            ],
            "Resource": installs["stacks"],
        },
        {
            "Sid": "InstallRoles",
            "Effect": "Allow",
            "Action": [
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:GetRole",
                "iam:PutRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:TagRole",
                "iam:PassRole",
                # the CloudFormation role's managed policies (CloudFormationPolicy1..N)
                "iam:CreatePolicy",
                "iam:DeletePolicy",
                "iam:AttachRolePolicy",
                "iam:DetachRolePolicy",
            ],
            "Resource": installs["roles"],
        },
        {
            "Sid": "Machines",
            "Effect": "Allow",
            "Action": [
                "states:StartExecution",
                "states:DescribeExecution",
                "states:GetExecutionHistory",
                "states:ListExecutions",  # fleet status: the newest restore-integrity run
            ],
            "Resource": [
                arn.format("states", f"stateMachine:{name_prefix}*"),
                arn.format("states", f"execution:{name_prefix}*:*"),
            ],
        },
        {
            "Sid": "Functions",
            "Effect": "Allow",
            "Action": "lambda:UpdateFunctionConfiguration",
            "Resource": arn.format("lambda", f"function:{name_prefix}*"),
        },
        {
            # docs/install-aws.md#permissions, "create/update/delete/tag of what the installer
            # template holds": the installer stack has no service role, so CloudFormation acts
            # with the trainer's session (local cloud gap 71). The actions come from the handler
            # table; the guide scopes them to `<name>-*`, this test grant to every resource.
            "Sid": "InstallerStackResources",
            "Effect": "Allow",
            "Action": _installer_stack_actions(),
            "Resource": "*",
        },
        {
            "Sid": "StubsFindTheInstallsFunctions",
            "Effect": "Allow",
            "Action": "lambda:ListFunctions",
            "Resource": "*",  # AWS cannot scope it
        },
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def trainer_role(cloud: Any, name_prefix: str, stack_prefix: str) -> str:
    """The trainer's role (created on first use), trusting the account, with the class's grants
    (one inline policy per class). Used by the fleet tests and ``bench/bench_fleet.py``."""
    from reslab.fleet.credentials import LOCAL_ACCOUNT

    iam = cloud.client("iam")
    try:
        arn = str(iam.get_role(RoleName=TRAINER_ROLE)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{LOCAL_ACCOUNT}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        arn = str(
            iam.create_role(RoleName=TRAINER_ROLE, AssumeRolePolicyDocument=json.dumps(trust))[
                "Role"
            ]["Arn"]
        )
    iam.put_role_policy(
        RoleName=TRAINER_ROLE,
        PolicyName=f"class-{stack_prefix}",
        PolicyDocument=json.dumps(trainer_policy(LOCAL_ACCOUNT, name_prefix, stack_prefix)),
    )
    return arn
