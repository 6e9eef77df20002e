"""The web instances' shims (reslab/localcloud/userdata): what bootstrap.sh asks of systemd, dnf
and the instance metadata service, answered as an Amazon Linux 2023 instance would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from reslab.localcloud.userdata.imds import TOKEN_HEADER, MetadataService, instance_metadata
from reslab.localcloud.userdata.instance import BIN_DIR

UNIT = """[Unit]
Description=test unit

[Service]
User=webapp
EnvironmentFile={env_file}
WorkingDirectory={workdir}
ExecStart={python} -c "{code}" --bind 0.0.0.0:8080
Restart=always
"""
#: The service writes what it was started with, then exits.
CODE = (
    "import json, os, sys; open('seen.json', 'w').write(json.dumps("
    "{'argv': sys.argv[1:], 'env': dict(os.environ), 'cwd': os.getcwd()}))"
)


def shim_env(root: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{BIN_DIR}:{os.environ['PATH']}",
        "BOOT_ROOT": str(root),
        "RESLAB_INSTANCE_PYTHON": sys.executable,
        **extra,
    }


def wait_for_file(path: Path) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return json.loads(path.read_text())
        time.sleep(0.05)
    raise AssertionError(f"{path} never written")


def test_systemctl_starts_the_unit_with_its_environment_file(tmp_path: Path) -> None:
    workdir = tmp_path / "opt" / "webapp" / "app"
    workdir.mkdir(parents=True)
    env_file = tmp_path / "etc" / "webapp.env"
    env_file.parent.mkdir(parents=True)
    env_file.write_text("# settings\nWEBAPP_DB_NAME=resiliency\nWEBAPP_WORKSHOP='Resiliency day'\n")
    unit = tmp_path / "etc" / "systemd" / "system" / "webapp.service"
    unit.parent.mkdir(parents=True)
    unit.write_text(
        UNIT.format(env_file=env_file, workdir=workdir, python=sys.executable, code=CODE)
    )
    env = shim_env(tmp_path, WEBAPP_DB_HOST="from-the-user-data", BOOT_BUCKET="boot")
    for args in (["daemon-reload"], ["enable", "--now", "webapp.service"]):
        subprocess.run(["systemctl", *args], env=env, check=True, timeout=30)

    seen = wait_for_file(workdir / "seen.json")
    assert seen["cwd"] == str(workdir)
    assert seen["argv"] == ["--bind", "127.0.0.1:8080"]  # the loopback: the only interface
    assert seen["env"]["WEBAPP_DB_NAME"] == "resiliency"
    assert seen["env"]["WEBAPP_WORKSHOP"] == "Resiliency day"
    # a unit sees its environment file, not what the user data exported for itself
    assert "WEBAPP_DB_HOST" not in seen["env"] and "BOOT_BUCKET" not in seen["env"]
    assert int((tmp_path / "run" / "webapp.service.pid").read_text()) > 0


def test_systemctl_names_what_it_does_not_emulate(tmp_path: Path) -> None:
    missing = subprocess.run(
        ["systemctl", "start", "nothing.service"],
        env=shim_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert missing.returncode == 1
    assert "Unit nothing.service not found" in missing.stderr
    other = subprocess.run(
        ["systemctl", "mask", "webapp.service"],
        env=shim_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert other.returncode == 1
    assert "not emulated here: mask webapp.service" in other.stderr


def test_dnf_installs_nothing_and_says_so(tmp_path: Path) -> None:
    run = subprocess.run(
        ["dnf", "install", "-y", "python3.11"],
        env=shim_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 0
    assert "not installing: install -y python3.11" in run.stderr


def test_metadata_service_requires_a_token() -> None:
    metadata = instance_metadata("i-0abc", "us-east-2b", "us-east-2")
    imds = MetadataService(metadata).start()
    try:
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(f"{imds.url}/latest/meta-data/instance-id", timeout=5)
        assert denied.value.code == 401
        put = urllib.request.Request(f"{imds.url}/latest/api/token", method="PUT")
        with urllib.request.urlopen(put, timeout=5) as response:
            token = response.read().decode()
        answers = {"instance-id": "i-0abc", "placement/availability-zone": "us-east-2b"}
        for path, value in answers.items():
            request = urllib.request.Request(
                f"{imds.url}/latest/meta-data/{path}", headers={TOKEN_HEADER: token}
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                assert response.read().decode() == value
    finally:
        imds.stop()


def test_the_web_app_reads_its_identity_from_the_metadata_service() -> None:
    from webapp.config import instance_identity

    imds = MetadataService(instance_metadata("i-0def", "us-east-2c", "us-east-2")).start()
    try:
        env = {"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url}
        assert instance_identity(env) == ("i-0def", "us-east-2c")
    finally:
        imds.stop()
