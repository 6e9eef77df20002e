"""Fleet/sweep tests share the session's local cloud (tests/conftest.py); names are unique."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from reslab.fleet.credentials import LOCAL_ACCOUNT


@pytest.fixture(scope="session")
def cloud(local_cloud: Any) -> Any:
    logging.getLogger("moto").setLevel(logging.CRITICAL)  # failure tests log whole programs
    return local_cloud


#: The role each fleet target row names: the trainer's role in the participant's account.
TRAINER_ROLE = "ReslabFleetTrainer"


def trainer_policy(account: str, name_prefix: str, stack_prefix: str) -> dict[str, Any]:
    """What docs/trainer-guide.md says the trainer's role carries: the installer permissions of
    docs/install-aws.md#permissions, on the class's installs (``<name_prefix>*``: functions,
    roles, machines, buckets, the installer stacks) and lab stacks (``<stack_prefix>*``), plus
    what the tests' stub step does with it (tests/deploy/stubs.py). An administrator's grant to
    the test's own principal; the lab's policies are untouched."""
    arn = f"arn:aws:{{}}:*:{account}:{{}}"
    installs = {
        "stacks": [
            arn.format("cloudformation", f"stack/{name_prefix}*/*"),
            arn.format("cloudformation", f"stack/{stack_prefix}*/*"),
        ],
        "buckets": [f"arn:aws:s3:::{name_prefix}*", f"arn:aws:s3:::{name_prefix}*/*"],
        "roles": [f"arn:aws:iam::{account}:role/{name_prefix}*"],
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
            "Sid": "StubsFindTheInstallsFunctions",
            "Effect": "Allow",
            "Action": "lambda:ListFunctions",
            "Resource": "*",  # AWS cannot scope it
        },
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def trainer_role(cloud: Any, name_prefix: str, stack_prefix: str) -> str:
    """The trainer's role (created on first use), trusting the account, with the class's grants
    (one inline policy per class)."""
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
