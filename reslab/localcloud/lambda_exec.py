"""Run moto's Lambda functions in child Python processes instead of Docker.

moto's ``LambdaFunction._invoke_lambda`` starts a Docker container; there is no Docker here, so
:func:`install` replaces it with :func:`invoke_in_child`: the function's deployment zip is
extracted once per CodeSha256 and ``python .../lambda_runtime.py <dir> <handler>`` runs the handler
with the function's environment plus ``AWS_ENDPOINT_URL`` pointing at the local cloud.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import Any

from reslab.localcloud.serialise import released

#: Run by path (not ``-m``) so that starting the runner imports no ``reslab``: a zip that vendors
#: its own ``reslab`` package gets exactly that one.
RUNNER = str(Path(__file__).with_name("lambda_runtime.py"))
_CACHE_ROOT = Path(tempfile.gettempdir()) / f"reslab-lambda-{os.getuid()}"
_extract_lock = threading.Lock()
_installed = False

#: Set by LocalCloud.start(): the endpoint the children call back to.
endpoint: dict[str, str] = {"url": "", "port": ""}


def code_dir(code_sha256: str, code_bytes: bytes) -> Path:
    """Extract the zip once per CodeSha256 and return the directory."""
    key = code_sha256.replace("/", "_").replace("+", "-").rstrip("=") or "empty"
    target = _CACHE_ROOT / key
    with _extract_lock:
        if not target.is_dir():
            tmp = Path(tempfile.mkdtemp(dir=_mkroot()))
            with zipfile.ZipFile(io.BytesIO(code_bytes)) as archive:
                archive.extractall(tmp)
            tmp.rename(target)
    return target


def _mkroot() -> Path:
    _CACHE_ROOT.mkdir(mode=0o700, parents=True, exist_ok=True)
    return _CACHE_ROOT


def child_env(fn: Any) -> dict[str, str]:
    """Environment of the child: no inherited AWS settings, the function's own variables,
    fake credentials and the local cloud's endpoint."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    env.update({str(k): str(v) for k, v in (fn.environment_vars or {}).items()})
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint["url"],
            "MOTO_PORT": endpoint["port"],
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",  # noqa: S105 - moto's fake credentials
            "AWS_SESSION_TOKEN": "testing",
            "AWS_REGION": fn.region,
            "AWS_DEFAULT_REGION": fn.region,
            "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": str(fn.version),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(fn.timeout),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
            "RESLAB_LAMBDA_FUNCTION_ARN": fn.function_arn,
            "RESLAB_LOCAL_CLOUD": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def timeout_payload(timeout: float) -> dict[str, str]:
    return {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"Task timed out after {float(timeout):.2f} seconds",
    }


def run_handler(
    directory: Path, handler: str, event: Any, env: dict[str, str], timeout: float
) -> tuple[str, bool, str]:
    """Run one invocation; returns (payload, errored, logs) like moto's Docker path."""
    proc = subprocess.Popen(
        [sys.executable, RUNNER, str(directory), handler],
        cwd=directory,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(json.dumps(event).encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        logs = err.decode("utf-8", "replace")
        return json.dumps(timeout_payload(timeout)), True, logs
    logs = err.decode("utf-8", "replace")
    payload = out.decode("utf-8", "replace")
    if proc.returncode != 0 and not payload:
        payload = json.dumps(
            {"errorType": "Runtime.ExitError", "errorMessage": f"exit status {proc.returncode}"}
        )
    return payload, proc.returncode != 0, logs


def invoke_in_child(fn: Any, event: Any = None) -> tuple[str, bool, str]:
    """Replacement for ``LambdaFunction._invoke_lambda``.

    The child calls back into the local cloud, so the request that runs it steps out of the
    request lock meanwhile; what it needs of ``fn`` is read before, the logs saved after."""
    fn.logs_backend.ensure_log_group(fn.logs_group_name)
    sha, code, handler, env = fn.code_sha_256, fn.code_bytes, fn.handler, child_env(fn)
    timeout = float(fn.timeout)
    with released():
        directory = code_dir(sha, code)
        payload, errored, logs = run_handler(
            directory, handler, {} if event is None else event, env, timeout
        )
    fn.save_logs(logs or "(no output)")
    return payload, errored, logs


def install() -> None:
    """Patch moto (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.awslambda.models import LambdaFunction

    LambdaFunction._invoke_lambda = invoke_in_child  # type: ignore[method-assign]
    _installed = True
