"""Web instances act with their instance profile's role (gap 41 of docs/local-cloud.md): the
metadata service serves the role's session, which the real AWS CLI finds there (no keys in the
instance environment), and IAM judges its calls as the role's; a role EC2 may not assume, or no
profile, leaves the instance without credentials, as on EC2."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reslab.localcloud.compat import iam_sessions
from reslab.localcloud.testing import unique_prefix
from reslab.localcloud.userdata.credentials import RoleCredentials, role_credentials
from reslab.localcloud.userdata.imds import TOKEN_HEADER, MetadataService, instance_metadata
from reslab.localcloud.userdata.instance import LaunchSpec, instance_environment

REGION = "us-east-2"
INSTANCE_ID = "i-0123456789abcdef0"


def trust(service: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def profile_with_role(cloud: Any, service: str, bucket: str) -> tuple[str, str]:
    """(profile ARN, role name) of a role trusting ``service`` that may read ``bucket``."""
    iam = cloud.client("iam", REGION)
    name = unique_prefix("instrole")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(service))
    grant = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/granted/*",
    }
    iam.put_role_policy(
        RoleName=name,
        PolicyName="read",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [grant]}),
    )
    profile = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    return profile["Arn"], name


@pytest.fixture
def bucket(local_cloud: Any) -> str:
    name = unique_prefix("instcreds").lower()
    s3 = local_cloud.client("s3", REGION)
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    for key in ("granted/boot.sh", "other/boot.sh"):
        s3.put_object(Bucket=name, Key=key, Body=b"echo hello\n")
    return name


class Booted:
    """An instance's metadata service and environment (what its user data runs with)."""

    def __init__(self, cloud: Any, profile_arn: str | None, root: Path) -> None:
        spec = LaunchSpec(INSTANCE_ID, f"{REGION}a", REGION, "", profile_arn, cloud.endpoint_url)
        self.credentials = role_credentials(profile_arn, INSTANCE_ID, REGION)
        metadata = instance_metadata(INSTANCE_ID, f"{REGION}a", REGION)
        self.imds = MetadataService(metadata, self.credentials).start()
        root.mkdir(parents=True, exist_ok=True)
        self.env = instance_environment(spec, root, 8080, self.imds.url)

    def get(self, path: str) -> tuple[int, str]:
        put = urllib.request.Request(f"{self.imds.url}/latest/api/token", method="PUT")
        with urllib.request.urlopen(put, timeout=5) as response:
            token = response.read().decode()
        request = urllib.request.Request(
            f"{self.imds.url}/latest/meta-data/{path}", headers={TOKEN_HEADER: token}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, ""

    def aws(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The AWS CLI as the instance's processes run it."""
        return subprocess.run(  # noqa: S603 - the venv's CLI
            ["aws", *args, "--region", REGION],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.fixture
def booted(local_cloud: Any, tmp_path: Path) -> Iterator[Any]:
    made: list[Booted] = []

    def boot(profile_arn: str | None) -> Booted:
        made.append(Booted(local_cloud, profile_arn, tmp_path / str(len(made))))
        return made[-1]

    yield boot
    for instance in made:
        instance.imds.stop()


def test_the_instance_acts_with_its_profile_role(local_cloud: Any, bucket: str, booted) -> None:  # noqa: ANN001
    profile_arn, role = profile_with_role(local_cloud, "ec2.amazonaws.com", bucket)
    instance = booted(profile_arn)
    assert not any(k in instance.env for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"))

    assert instance.get("iam/security-credentials/") == (200, role)
    status, body = instance.get(f"iam/security-credentials/{role}")
    document = json.loads(body)
    assert status == 200 and document["Code"] == "Success" and document["Type"] == "AWS-HMAC"
    info = json.loads(instance.get("iam/info")[1])
    assert info["Code"] == "Success" and info["InstanceProfileArn"] == profile_arn

    who = instance.aws("sts", "get-caller-identity", "--output", "json")
    assert who.returncode == 0, who.stderr
    assert json.loads(who.stdout)["Arn"].endswith(f":assumed-role/{role}/{INSTANCE_ID}")

    granted = instance.aws("s3", "cp", f"s3://{bucket}/granted/boot.sh", "-")
    assert granted.returncode == 0, granted.stderr
    assert granted.stdout == "echo hello\n"
    denied = instance.aws("s3", "cp", f"s3://{bucket}/other/boot.sh", "-")
    assert denied.returncode == 1
    assert "(403) when calling the HeadObject operation: Forbidden" in denied.stderr


def test_a_role_ec2_may_not_assume_gives_no_credentials(
    local_cloud: Any,
    bucket: str,
    booted,  # noqa: ANN001
) -> None:
    profile_arn, role = profile_with_role(local_cloud, "lambda.amazonaws.com", bucket)
    instance = booted(profile_arn)

    refused = json.loads(instance.get(f"iam/security-credentials/{role}")[1])
    assert refused["Code"] == "AssumeRoleUnauthorizedAccess"
    assert refused["Message"].startswith(f"EC2 cannot assume the role {role}.")
    assert "AccessKeyId" not in refused
    assert json.loads(instance.get("iam/info")[1])["Code"] == "AssumeRoleUnauthorizedAccess"
    run = instance.aws("s3", "cp", f"s3://{bucket}/granted/boot.sh", "-")
    assert run.returncode == 1
    assert "Unable to locate credentials" in run.stderr


def test_without_a_profile_the_instance_has_no_credentials(
    local_cloud: Any,
    bucket: str,
    booted,  # noqa: ANN001
) -> None:
    instance = booted(None)
    assert instance.credentials is None
    assert instance.get("iam/security-credentials/")[0] == 404
    assert instance.get("iam/info")[0] == 404
    run = instance.aws("s3", "cp", f"s3://{bucket}/granted/boot.sh", "-")
    assert run.returncode == 1
    assert "Unable to locate credentials" in run.stderr


def test_credentials_are_renewed_before_they_expire(local_cloud: Any, bucket: str) -> None:
    from moto.core.utils import utcnow

    profile_arn, role = profile_with_role(local_cloud, "ec2.amazonaws.com", bucket)
    credentials = role_credentials(profile_arn, "i-0fedcba9876543210", REGION)
    assert isinstance(credentials, RoleCredentials)
    first = json.loads(credentials.document())
    assert json.loads(credentials.document())["AccessKeyId"] == first["AccessKeyId"]

    # the session comes within RENEW_BEFORE of its expiry: the next answer is a new session
    credentials._session.expiration = utcnow() + iam_sessions.RENEW_BEFORE / 2
    second = json.loads(credentials.document())
    assert second["Code"] == "Success"
    assert second["AccessKeyId"] != first["AccessKeyId"]
