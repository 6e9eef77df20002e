"""Run moto's Lambda functions in warm child processes instead of Docker.

moto's ``LambdaFunction._invoke_lambda`` starts a Docker container; there is no Docker here, so
:func:`install` replaces it with :func:`invoke_in_child`: the function's deployment zip is
extracted once per CodeSha256 and the invocation runs in an execution environment of the pool
(``lambda_pool``: warm reuse, the account's concurrency, memory and timeout limits), with the
function's environment plus ``AWS_ENDPOINT_URL`` pointing at the local cloud. The logs go to the
environment's log stream, as on AWS.

Throttling: a synchronous ``Invoke`` (``RequestResponse``, the API) that finds the concurrency
used up and the queue full answers ``TooManyRequestsException`` (HTTP 429); other invocations
(``Event``, service-internal ones) wait in the queue, as AWS queues them. A Step Functions Task
naming the function's ARN reports that as ``Lambda.TooManyRequestsException`` (moto said
``Exception``), so the machines' Retry on it applies.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from moto.core.exceptions import JsonRESTError

from reslab.localcloud import lambda_clock, serialise
from reslab.localcloud.context import cloud_context
from reslab.localcloud.lambda_gate import Throttled
from reslab.localcloud.lambda_pool import LambdaPool, PoolSettings
from reslab.localcloud.lambda_worker import FunctionConfig
from reslab.localcloud.network import service as network
from reslab.localcloud.serialise import released

_CACHE_ROOT = Path(tempfile.gettempdir()) / f"reslab-lambda-{os.getuid()}"
_extract_lock = threading.Lock()
_installed = False
_SERVICE = "lambda"
#: Set per request by the patched ``Invoke`` API: whether this invocation may be throttled.
_api_call = threading.local()

#: Set by LocalCloud.start(): the endpoint the children call back to.
endpoint: dict[str, str] = {"url": "", "port": ""}
#: Set by LocalCloud.start() (``configure``): the settings of the pool it will use.
_settings: dict[str, PoolSettings] = {}


class TooManyRequestsException(JsonRESTError):
    """AWS's answer when the account's concurrency is used up."""

    code = 429

    def __init__(self) -> None:
        super().__init__("TooManyRequestsException", "Rate Exceeded.")
        self.description = json.dumps(
            {
                "__type": "TooManyRequestsException",
                "message": "Rate Exceeded.",
                "Reason": "ConcurrentInvocationLimitExceeded",
                "Type": "User",
            }
        )


def configure(concurrency: int | None = None) -> None:
    """Settings of the pool (the account's Lambda concurrency, else the environment's);
    raises LocalCloudError for a bad value."""
    _settings["next"] = PoolSettings.from_environment(concurrency)


def pool() -> LambdaPool:
    """The running local cloud's pool (created on first use, ended with the cloud)."""

    def create() -> LambdaPool:
        return LambdaPool(_settings.get("next") or PoolSettings.from_environment())

    pool: LambdaPool = cloud_context.service(_SERVICE, create)
    return pool


@contextmanager
def pool_settings(**changes: Any) -> Iterator[LambdaPool]:
    """``with pool_settings(concurrency=1, queue_limit=0): ...`` -- undone after the block."""
    current = pool()
    previous = current.configure(**changes)
    try:
        yield current
    finally:
        current.configure(**vars(previous))


def code_dir(code_sha256: str) -> Path:
    """Where the zip of this CodeSha256 is extracted (:func:`extract`)."""
    key = code_sha256.replace("/", "_").replace("+", "-").rstrip("=") or "empty"
    return _CACHE_ROOT / key


def extract(target: Path, code_bytes: bytes) -> None:
    """Extract the zip once per CodeSha256."""
    with _extract_lock:
        if not target.is_dir():
            tmp = Path(tempfile.mkdtemp(dir=_mkroot()))
            with zipfile.ZipFile(io.BytesIO(code_bytes)) as archive:
                archive.extractall(tmp)
            tmp.rename(target)


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
            "AWS_LAMBDA_LOG_GROUP_NAME": fn.logs_group_name,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
            "RESLAB_LAMBDA_FUNCTION_ARN": fn.function_arn,
            "RESLAB_LOCAL_CLOUD": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return network.lambda_environment(fn, env)


def function_config(fn: Any, directory: Path) -> FunctionConfig:
    """What an environment of ``fn`` runs. Its identity covers everything AWS applies by
    starting new environments: version, code, configuration and the execution role (whose
    credentials each environment will carry)."""
    env = child_env(fn)
    settings = {  # not the inherited environment: it may change under pytest (and means nothing)
        "arn": fn.function_arn,
        "version": str(fn.version),
        "code": fn.code_sha_256,
        "handler": fn.handler,
        "runtime": fn.run_time,
        "role": fn.role,
        "memory": int(fn.memory_size),
        "timeout": float(fn.timeout),
        "variables": {str(k): str(v) for k, v in (fn.environment_vars or {}).items()},
        "endpoint": endpoint["url"],
        "vpc": fn.vpc_config or {},  # new subnets or groups: new environments
    }
    identity = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
    return FunctionConfig(
        identity=identity,
        version_key=f"{fn.function_arn}#{fn.version}",
        version=str(fn.version),
        code_dir=directory,
        handler=fn.handler,
        env=env,
        timeout=float(fn.timeout),
        memory_mb=int(fn.memory_size),
    )


def save_logs(fn: Any, stream: str, logs: str) -> None:
    """Append the invocation's lines to its environment's log stream (one per environment)."""
    backend, group = fn.logs_backend, fn.logs_group_name
    if stream not in backend.groups[group].streams:
        backend.create_log_stream(group, stream)
    from moto.core.utils import unix_time_millis

    now = unix_time_millis()
    events = [{"timestamp": now, "message": line} for line in (logs or "(no output)").splitlines()]
    backend.put_log_events(group, stream, events)


def invoke_in_child(fn: Any, event: Any = None) -> tuple[str, bool, str]:
    """Replacement for ``LambdaFunction._invoke_lambda``.

    The child calls back into the local cloud, so the request that runs it steps out of the
    request lock meanwhile; what it needs of ``fn`` is read before, the logs saved after."""
    fn.logs_backend.ensure_log_group(fn.logs_group_name)
    config, code = function_config(fn, code_dir(fn.code_sha_256)), fn.code_bytes
    throttle = getattr(_api_call, "throttle", False)
    try:
        with released():
            extract(config.code_dir, code)
            outcome = pool().invoke(config, {} if event is None else event, throttle)
    except Throttled:
        raise TooManyRequestsException() from None
    save_logs(fn, outcome.log_stream, outcome.logs)
    return outcome.payload, outcome.errored, outcome.logs


def _patch_invoke_api() -> None:
    """Mark the API's synchronous ``Invoke`` as the one call that may be throttled."""
    from moto.awslambda.responses import LambdaResponse

    original = LambdaResponse.invoke

    def invoke(self: Any) -> Any:
        kind = self.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
        _api_call.throttle = kind == "RequestResponse"
        try:
            return original(self)
        finally:
            _api_call.throttle = False

    LambdaResponse.invoke = invoke  # type: ignore[method-assign]


def _patch_sfn_lambda_errors() -> None:
    """A Task whose Resource is a function ARN names Lambda's API errors ``Lambda.<Code>``
    (as the ``lambda:invoke`` integration does, and AWS does for both)."""
    from botocore.exceptions import ClientError
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import (
        state_task_lambda,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda import (  # noqa: E501
        StateTaskServiceLambda,
    )

    task = state_task_lambda.StateTaskLambda
    original = task._from_error

    def from_error(self: Any, env: Any, ex: Exception) -> Any:
        if not isinstance(ex, ClientError):
            return original(self, env, ex)
        error, cause = StateTaskServiceLambda._error_cause_from_client_error(ex)
        return state_task_lambda.FailureEvent(
            env=env,
            error_name=state_task_lambda.CustomErrorName(error),
            event_type=state_task_lambda.HistoryEventType.LambdaFunctionFailed,
            event_details=state_task_lambda.EventDetails(
                lambdaFunctionFailedEventDetails=state_task_lambda.LambdaFunctionFailedEventDetails(
                    error=error, cause=cause
                )
            ),
        )

    task._from_error = from_error  # type: ignore[method-assign]


def _unhandled_function_errors() -> None:
    """Gap 63: moto answers every function error with ``X-Amz-Function-Error: Handled``; AWS
    says ``Unhandled`` for an exception the handler raised and for a runtime that died."""
    from moto.awslambda.models import LambdaFunction

    original = LambdaFunction.invoke

    def invoke(self: Any, body: str, request_headers: Any, response_headers: Any) -> Any:
        result = original(self, body, request_headers, response_headers)
        if response_headers.get("x-amz-function-error") == "Handled":
            response_headers["x-amz-function-error"] = "Unhandled"
        return result

    LambdaFunction.invoke = invoke  # type: ignore[method-assign]


def install() -> None:
    """Patch moto (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.awslambda.models import LambdaFunction

    LambdaFunction._invoke_lambda = invoke_in_child  # type: ignore[method-assign]
    serialise.WAIT_OBSERVERS.append(lambda_clock.observe)
    _patch_invoke_api()
    _patch_sfn_lambda_errors()
    _unhandled_function_errors()
    _installed = True
