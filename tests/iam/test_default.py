"""IAM enforcement is on by default (issue 11): the session's shared local cloud, started with no
``iam`` argument, refuses a role session what its policies do not grant, as AWS does;
``RESLAB_LOCAL_IAM=0`` (or ``--no-iam``) turns it off, for debugging only."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from reslab.localcloud.server import IAM_ENV, iam_default
from reslab.localcloud.testing import unique_prefix


@pytest.mark.parametrize(
    ("value", "enforced"), [(None, True), ("1", True), ("0", False), ("off", False)]
)
def test_enforcement_is_on_unless_the_environment_turns_it_off(
    monkeypatch: pytest.MonkeyPatch, value: str | None, enforced: bool
) -> None:
    if value is None:
        monkeypatch.delenv(IAM_ENV, raising=False)
    else:
        monkeypatch.setenv(IAM_ENV, value)
    assert iam_default() is enforced


def test_the_default_cloud_denies_a_role_session_what_its_policy_does_not_grant(
    local_cloud: Any,
) -> None:
    if os.environ.get(IAM_ENV, "").strip().lower() in ("0", "false", "no", "off"):
        pytest.skip(f"{IAM_ENV}=0 turns enforcement off for this run (debugging)")
    assert local_cloud.iam
    iam = local_cloud.client("iam")
    name = unique_prefix("default-iam")
    account = local_cloud.client("sts", "us-east-2").get_caller_identity()["Account"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(
        RoleName=name,
        PolicyName="list-buckets-only",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}
                ],
            }
        ),
    )
    credentials = local_cloud.client("sts", "us-east-2").assume_role(
        RoleArn=role["Arn"], RoleSessionName="default"
    )["Credentials"]
    session = boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name="us-east-2",
    )

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=local_cloud.endpoint_url)

    client("s3").list_buckets()  # granted
    with pytest.raises(ClientError) as denied:
        client("cloudformation").describe_stacks()  # not granted
    error = denied.value.response["Error"]
    assert error["Code"] == "AccessDenied"
    assert "cloudformation:DescribeStacks" in error["Message"]
    assert name in error["Message"]
