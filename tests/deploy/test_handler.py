"""The one prologue of every Lambda (deploy and restore side): log level, AWS clients, errors."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from reslab import packaging
from reslab.localcloud import lambda_worker
from reslab.restore import aws as restore_aws
from reslab_lambda import cfn
from reslab_lambda.handler import LOG_LEVEL_ENV, log_level


@pytest.mark.parametrize(
    ("payload", "env", "level"),
    [
        ({"log_level": "DEBUG"}, "ERROR", "DEBUG"),  # the execution input (validate_event)
        ({"key": "vpc", "event": {"log_level": "WARNING"}}, None, "WARNING"),  # deploy Tasks
        ({"what": "instance", "state": {"log_level": "DEBUG"}}, "INFO", "DEBUG"),  # restore poll
        ({"instance": "db1"}, "ERROR", "ERROR"),  # no log_level: the function's LOG_LEVEL
        ({"log_level": "LOUD"}, "WARNING", "WARNING"),  # not a level: skipped
        ({}, None, "INFO"),
        ([1, 2], None, "INFO"),
    ],
)
def test_log_level_event_then_environment_then_info(
    payload: object, env: str | None, level: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if env is None:
        monkeypatch.delenv(LOG_LEVEL_ENV, raising=False)
    else:
        monkeypatch.setenv(LOG_LEVEL_ENV, env)
    assert log_level(payload) == level


def test_both_families_make_clients_alike() -> None:
    deploy = cfn.client("cloudformation", "us-east-2").meta.config
    restore = restore_aws.client("rds", {"region_name": "us-east-2"}).meta.config
    # max_attempts 8 retries = 9 attempts in all, botocore's normal form
    assert deploy.retries == restore.retries == {"mode": "standard", "total_max_attempts": 9}
    assert deploy.connect_timeout == restore.connect_timeout


def _invoke(folder: str, event: object, env: dict[str, str], tmp_path: Path) -> tuple[dict, str]:
    """Run the function's zip as the local cloud does (a child process, the Lambda runtime)."""
    code = tmp_path / folder
    with zipfile.ZipFile(
        io.BytesIO(packaging.local_lambda_zip(packaging.LAMBDAS_DIR / folder))
    ) as z:
        z.extractall(code)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", LOG_LEVEL_ENV))}
    # one execution environment serving one invocation (lambda_runtime.py's line protocol)
    request = json.dumps({"id": "test", "event": event, "timeout": 60})
    proc = subprocess.run(
        [sys.executable, lambda_worker.RUNNER, str(code), packaging.HANDLER],
        input=request + "\n",
        capture_output=True,
        text=True,
        cwd=code,
        env={**base, "AWS_DEFAULT_REGION": "us-east-2", **env},
        timeout=60,
    )
    ready, reply = (json.loads(line) for line in proc.stdout.splitlines())
    assert ready == {"ready": True}, proc.stderr
    return json.loads(reply["body"]), proc.stderr


@pytest.mark.parametrize("folder", ["validate_event", "backup_prepare"])
def test_both_families_log_and_fail_the_same_way(folder: str, tmp_path: Path) -> None:
    bad = {"bogus": 1}  # refused by both events' validators, before any AWS call
    quiet, logs = _invoke(folder, bad, {}, tmp_path / "quiet")
    assert quiet["errorType"] == {"validate_event": "InvalidEvent",
                                  "backup_prepare": "InvalidRestoreEvent"}[folder]  # fmt: skip
    assert "bogus" in quiet["errorMessage"]
    assert f"{folder} input:" not in logs  # INFO by default
    _, logs = _invoke(folder, bad, {LOG_LEVEL_ENV: "DEBUG"}, tmp_path / "env")
    assert f"{folder} input:" in logs  # the function's LOG_LEVEL
    _, logs = _invoke(folder, {**bad, "log_level": "DEBUG"}, {}, tmp_path / "event")
    assert f"{folder} input:" in logs  # the event's log_level
    _, logs = _invoke(
        folder, {**bad, "log_level": "INFO"}, {LOG_LEVEL_ENV: "DEBUG"}, tmp_path / "x"
    )
    assert f"{folder} input:" not in logs  # the event's wins over the environment
