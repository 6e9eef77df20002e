"""The web launch template's user data, rendered as CloudFormation would, run under bash with a
stand-in `aws` command: it must fetch s3://BootBucket/BootPrefix+BootObject and run it with the
database settings (and nothing secret) in its environment."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from reslab import REPO_ROOT
from reslab.templates import load_template

PARAMETERS = {
    "AWS::Region": "us-east-2",
    "Workshop": "localtest lab",
    "MasterUserSecretArn": "arn:aws:secretsmanager:us-east-2:123456789012:secret:rds!db-1-AbCdEf",
    "EndpointAddress": "db.abc.us-east-2.rds.amazonaws.com",
    "EndpointPort": "5432",
    "DatabaseName": "resiliency",
    "Engine": "postgres",
    "DmsSourceSecretPrimaryArn": "",
    "WebsiteImageURL": "",
    "WebAppMode": "resilient",
    "WebsiteBucketName": "lab-websitebucket-1",
    "WebsiteImageKey": "website-image.svg",
    "BootBucket": "boot-bucket",
    "BootPrefix": "Reliability/",
    "BootObject": "bootstrap.sh",
}

FAKE_AWS = """#!/bin/sh
echo "$@" >> "$FAKE_AWS_LOG"
[ "$1 $2" = "s3 cp" ] || exit 2
cp "$FAKE_BOOTSTRAP" "$4"
"""

FAKE_BOOTSTRAP = """#!/bin/sh
env | grep -E '^(WEBAPP_|RESLAB_|BOOT_|AWS_)' | sort > "$FAKE_ENV_OUT"
"""


def render_user_data() -> str:
    data = load_template("web")["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    template = data["UserData"]["Fn::Base64"]["Fn::Sub"]
    assert isinstance(template, str)
    rendered = re.sub(r"\$\{([^!}][^}]*)\}", lambda m: PARAMETERS[m.group(1)], template)
    return rendered.replace("${!", "${")  # Fn::Sub's literal: ${!Name} renders as ${Name}


def test_user_data_is_valid_bash() -> None:
    subprocess.run(["bash", "-n"], input=render_user_data(), text=True, check=True)


def test_user_data_fetches_and_runs_the_bootstrap(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(FAKE_AWS)
    (bin_dir / "aws").chmod(0o755)
    (tmp_path / "bootstrap.sh").write_text(FAKE_BOOTSTRAP)
    script = render_user_data()
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "BOOT_ROOT": str(tmp_path),  # the instance's root (unset on EC2: /opt/reslab)
        "FAKE_AWS_LOG": str(tmp_path / "aws.log"),
        "FAKE_BOOTSTRAP": str(tmp_path / "bootstrap.sh"),
        "FAKE_ENV_OUT": str(tmp_path / "env.out"),
    }
    subprocess.run([shutil.which("bash") or "bash", "-c", script], env=env, check=True, timeout=30)

    calls = (tmp_path / "aws.log").read_text().splitlines()
    assert calls == [
        f"s3 cp s3://boot-bucket/Reliability/bootstrap.sh {tmp_path}/opt/reslab/bootstrap.sh"
    ]
    seen = dict(line.split("=", 1) for line in (tmp_path / "env.out").read_text().splitlines())
    assert seen["WEBAPP_DB_SECRET_ARN"] == PARAMETERS["MasterUserSecretArn"]
    assert seen["WEBAPP_DB_HOST"] == PARAMETERS["EndpointAddress"]
    assert seen["WEBAPP_DB_PORT"] == "5432"
    assert seen["WEBAPP_DB_NAME"] == "resiliency"
    assert seen["WEBAPP_DB_ENGINE"] == "postgres"
    assert seen["WEBAPP_IMAGE_URL"] == ""
    assert seen["WEBAPP_MODE"] == "resilient"
    assert seen["WEBAPP_WORKSHOP"] == "localtest lab"
    assert seen["RESLAB_WEBSITE_IMAGE_KEY"] == "website-image.svg"
    assert seen["RESLAB_WEBSITE_BUCKET"] == "lab-websitebucket-1"
    assert seen["BOOT_BUCKET"] == "boot-bucket"
    assert seen["BOOT_PREFIX"] == "Reliability/"
    assert seen["AWS_REGION"] == seen["AWS_DEFAULT_REGION"] == "us-east-2"
    assert not [k for k in seen if "PASSWORD" in k]


def test_user_data_fails_when_the_bootstrap_cannot_be_fetched(tmp_path: Path) -> None:
    script = render_user_data().replace("sleep 10", "sleep 0")  # keep the 6 attempts, not the waits
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text('#!/bin/sh\necho "$@" >> "$FAKE_AWS_LOG"\nexit 1\n')
    (bin_dir / "aws").chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "FAKE_AWS_LOG": str(tmp_path / "aws.log"),
        "BOOT_ROOT": str(tmp_path),
    }
    result = subprocess.run(["bash", "-c", script], env=env, timeout=30)
    assert result.returncode == 1
    assert len((tmp_path / "aws.log").read_text().splitlines()) == 6
    assert not (tmp_path / "opt" / "reslab" / "bootstrap.sh").exists()


def test_user_data_exports_what_the_bootstrap_reads() -> None:
    """bootstrap/bootstrap.sh takes each setting from an option or an environment variable."""
    bootstrap = (REPO_ROOT / "bootstrap" / "bootstrap.sh").read_text()
    read = set(re.findall(r'^\w+="\$\{([A-Z_]+):-', bootstrap, flags=re.MULTILINE))
    exported = set(re.findall(r"^export ([A-Z_]+)=", render_user_data(), flags=re.MULTILINE))
    exported |= {"AWS_DEFAULT_REGION"}  # exported on the AWS_REGION line
    needed = {
        "BOOT_BUCKET",
        "BOOT_PREFIX",
        "WEBAPP_DB_HOST",
        "WEBAPP_DB_PORT",
        "WEBAPP_DB_NAME",
        "WEBAPP_DB_ENGINE",
        "WEBAPP_DB_SECRET_ARN",
        "WEBAPP_IMAGE_URL",
        "WEBAPP_MODE",
        "AWS_REGION",
    }
    assert needed <= read
    assert needed <= exported
