"""A Lambda environment forked from the zygote (``lambda_forks``) is the one a fresh
``python lambda_runtime.py`` would be: same ``sys.path``, environment, working directory,
``sitecustomize`` (the network model's resolver), exit statuses; a package carrying its own
copy of a preloaded module gets a fresh interpreter that imports that copy."""

from __future__ import annotations

import os
from typing import Any

import pytest

from reslab.localcloud import lambda_forks
from tests.localcloud.functions import REGION, function, invoke, no_retry_client

PROBE = """
import os
import socket
import sys

import boto3


def handler(event, context):
    if event.get("exit") is not None:
        sys.exit(event["exit"])
    code_dir = os.environ["LAMBDA_TASK_ROOT"]
    custom = sys.modules.get("sitecustomize")
    return {
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "path": [p.replace(code_dir, "<code>") for p in sys.path],
        "env": sorted(k for k in os.environ if k not in ("LAMBDA_TASK_ROOT", "TMPDIR"))
        + [k for k in os.environ if k.startswith("RESLAB_NET")],
        "cwd_is_code": os.getcwd() == code_dir,
        "sitecustomize": getattr(custom, "__file__", None),
        "resolver": socket.getaddrinfo.__module__,
        "session_leader": os.getsid(0) == os.getpid(),
        "boto3": getattr(boto3, "MARK", "the venv's"),
        "argv0": os.path.basename(sys.argv[0]),
    }
"""


def _probe(cloud: Any, fork: str, monkeypatch: pytest.MonkeyPatch, **event: Any) -> Any:
    monkeypatch.setenv(lambda_forks.SETTING, fork)
    lam = no_retry_client(cloud)
    with function(cloud, PROBE) as name:
        return invoke(lam, name, **event)


def test_a_forked_environment_is_what_a_fresh_interpreter_gives(
    local_cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    forked, forked_error = _probe(local_cloud, "on", monkeypatch)
    fresh, fresh_error = _probe(local_cloud, "off", monkeypatch)
    assert (forked_error, fresh_error) == (None, None)
    zygote = lambda_forks._zygote  # noqa: SLF001 - which process made it
    assert zygote is not None and forked["ppid"] == zygote._process.pid  # noqa: SLF001
    assert fresh["ppid"] == os.getpid()
    for key in ("path", "env", "cwd_is_code", "sitecustomize", "resolver", "session_leader"):
        assert forked[key] == fresh[key], key
    assert forked["path"][0] == "<code>" and forked["session_leader"]
    assert forked["argv0"] == fresh["argv0"] == "lambda_runtime.py"


def test_exit_statuses_read_the_same(local_cloud: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    forked = _probe(local_cloud, "on", monkeypatch, exit=3)
    fresh = _probe(local_cloud, "off", monkeypatch, exit=3)
    for payload, error in (forked, fresh):
        assert error == "Unhandled"  # as AWS answers a runtime that exited
        assert payload["errorType"] == "Runtime.ExitError"
        assert payload["errorMessage"].endswith("Runtime exited with error: exit status 3")
    assert forked[1] == fresh[1]


def test_a_package_with_its_own_boto3_gets_a_fresh_interpreter(
    local_cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reslab.localcloud.testing import lambda_role, unique_prefix, zip_files

    monkeypatch.setenv(lambda_forks.SETTING, "on")
    name = unique_prefix("vendored")
    files = {
        "app.py": PROBE,
        "boto3/__init__.py": "MARK = 'vendored'\n",
    }
    lam = local_cloud.client("lambda", REGION)
    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=lambda_role(local_cloud),
        Handler="app.handler",
        Code={"ZipFile": zip_files(files)},
        Timeout=10,
    )
    try:
        payload, error = invoke(no_retry_client(local_cloud), name)
    finally:
        lam.delete_function(FunctionName=name)
    assert error is None, payload
    assert payload["boto3"] == "vendored"
    assert payload["ppid"] == os.getpid()
