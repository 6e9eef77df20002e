"""The CLI acts as its caller (issue 11): with an IAM user's keys of the local cloud in the
standard ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, a ``--local`` command's requests are
authorized against that user's policies, as AWS would; without keys it is the account's root.

The CLI runs as a subprocess (the ``reslab`` script's own exit path) against the session's
local cloud, found through ``.reslab/local.json`` in its working directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reslab.localcloud.server import IAM_ENV, ROOT_KEYS, caller_keys
from reslab.localcloud.state import write_state
from reslab.localcloud.testing import unique_prefix

REGION = "us-east-2"
#: What ``reslab status --local`` reads, but its stacks: ``cloudformation:DescribeStacks``.
READS = ["cloudformation:ListStacks", "cloudformation:DescribeStackEvents"]


def _policy(actions: list[str]) -> str:
    statement = {"Effect": "Allow", "Action": actions, "Resource": "*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _status(workdir: Path, keys: dict[str, str], prefix: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RESLAB_DEBUG"))}
    env.update(keys, AWS_EC2_METADATA_DISABLED="true")
    return subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "reslab", "status", "--local", "--json"]
        + ["--region", REGION, "--stack-prefix", prefix, "--workshop", prefix],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_caller_keys_are_the_standard_variables_else_the_root_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    assert caller_keys() == ROOT_KEYS
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "")
    assert caller_keys() == ROOT_KEYS
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUSER")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token")
    assert caller_keys() == {
        "aws_access_key_id": "AKIAUSER",
        "aws_secret_access_key": "secret",
        "aws_session_token": "token",
    }


def test_a_local_command_is_authorized_against_the_callers_policies(
    local_cloud: Any, tmp_path: Path
) -> None:
    if os.environ.get(IAM_ENV, "").strip().lower() in ("0", "false", "no", "off"):
        pytest.skip(f"{IAM_ENV}=0 turns enforcement off for this run (debugging)")
    assert local_cloud.iam
    write_state(local_cloud.endpoint_url, tmp_path)
    iam = local_cloud.client("iam")
    user = unique_prefix("cli-caller")
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="reads", PolicyDocument=_policy(READS))
    created = iam.create_access_key(UserName=user)["AccessKey"]
    keys = {
        "AWS_ACCESS_KEY_ID": created["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": created["SecretAccessKey"],
    }
    prefix = unique_prefix("Cli")

    denied = _status(tmp_path, keys, prefix)
    last = denied.stderr.strip().splitlines()[-1]
    assert denied.returncode == 1, denied.stderr
    assert "Traceback" not in denied.stderr
    assert last.startswith("AccessDenied: DescribeStacks: "), denied.stderr
    assert f"user/{user} is not authorized to perform: cloudformation:DescribeStacks" in last

    iam.put_user_policy(
        UserName=user,
        PolicyName="reads",
        PolicyDocument=_policy([*READS, "cloudformation:DescribeStacks"]),
    )
    allowed = _status(tmp_path, keys, prefix)
    assert allowed.returncode == 0, allowed.stderr
    stacks = json.loads(allowed.stdout)["stacks"]
    assert stacks and all(s["name"].startswith(prefix) for s in stacks.values())
    cfn = local_cloud.client("cloudformation", REGION)
    listed = [s["StackName"] for s in cfn.describe_stacks()["Stacks"]]
    assert not [name for name in listed if name.startswith(prefix)]  # a read created nothing

    root = _status(tmp_path, {}, prefix)  # no keys: the account's root user, as before
    assert root.returncode == 0, root.stderr


def test_the_fleet_assumes_its_target_roles_as_the_caller(
    local_cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``reslab fleet`` against the local cloud: the target role is assumed with the caller's
    keys, so a caller whose policies lack ``sts:AssumeRole`` on it is refused by name, as on
    AWS; granted, the fleet acts as the role's session."""
    from reslab.fleet.credentials import target_clients
    from reslab.fleet.errors import TargetCredentials
    from reslab.fleet.targets import Target

    if os.environ.get(IAM_ENV, "").strip().lower() in ("0", "false", "no", "off"):
        pytest.skip(f"{IAM_ENV}=0 turns enforcement off for this run (debugging)")
    iam = local_cloud.client("iam")
    name = unique_prefix("fleet-caller")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role_arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="reads", PolicyDocument=_policy(READS))
    created = iam.create_access_key(UserName=name)["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", created["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", created["SecretAccessKey"])
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    target = Target(
        row=1, region=REGION, secondary_region="us-west-2", workshop=name, role_arn=role_arn
    )

    with pytest.raises(TargetCredentials, match=r"cannot assume .*AccessDenied.*sts:AssumeRole"):
        target_clients(target, local_cloud.endpoint_url)

    iam.put_user_policy(
        UserName=name,
        PolicyName="assume",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}
                ],
            }
        ),
    )
    clients = target_clients(target, local_cloud.endpoint_url)
    identity = clients("sts", REGION).get_caller_identity()
    assert f":assumed-role/{name}/" in identity["Arn"]
