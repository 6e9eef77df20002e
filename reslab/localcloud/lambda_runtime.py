"""One Lambda execution environment in a child process: ``python lambda_runtime.py DIR HANDLER``.

Run by path (also ``-m``), it imports no ``reslab``: a zip that vendors its own ``reslab`` gets
exactly that one. Like AWS's Python runtime (``awslambdaric``) it imports the handler once (the
init phase), then serves invocations one at a time until the parent closes its stdin; module
globals survive between invocations. ``DIR`` (the extracted deployment zip) is first on
``sys.path``, so its vendored packages win over the venv's.

Protocol: one JSON document per line.

* parent -> child, stdin: ``{"id": request id, "event": ..., "timeout": seconds}``;
* child -> parent, the ORIGINAL stdout: ``{"ready": true}`` after init, or
  ``{"init_error": {...}}`` and exit 1 (the environment is discarded, as on AWS); then one
  ``{"ok": bool, "body": "<payload JSON>", "max_rss_kb": n}`` per invocation.

Anything the function prints (even C-level) goes to stderr, which the parent keeps as the log.
Errors are formatted as AWS Lambda returns them (``errorType`` = exception class name,
``errorMessage``, ``stackTrace``); init failures get the runtime's own error types
(``Runtime.ImportModuleError``, ``Runtime.HandlerNotFound``, ...).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from typing import IO, Any


class LambdaContext:
    """The subset of the AWS Lambda context object handlers commonly use."""

    def __init__(self, request_id: str, timeout_s: float) -> None:
        self._deadline = time.monotonic() + timeout_s
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.invoked_function_arn = os.environ.get("RESLAB_LAMBDA_FUNCTION_ARN", "")
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get(
            "AWS_LAMBDA_LOG_GROUP_NAME", f"/aws/lambda/{self.function_name}"
        )
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", request_id)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class InitError(Exception):
    """The function could not be initialised; ``payload`` is what the invocation returns."""

    def __init__(self, error_type: str, message: str, stack: list[str] | None = None) -> None:
        super().__init__(message)
        self.payload = {
            "errorMessage": message,
            "errorType": error_type,
            "requestId": "",
            "stackTrace": stack or [],
        }


def _handler_frames(tb: Any) -> Any:
    """Skip this runner's own frames, as AWS shows only the function's."""
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    return tb


def error_payload(exc: BaseException) -> dict[str, Any]:
    """Format an exception exactly as AWS Lambda's Python runtime does."""
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_tb(_handler_frames(exc.__traceback__)),
    }


def _fault_handler(error_type: str, message: str) -> Any:
    def handler(event: Any, context: Any) -> Any:
        raise InitError(error_type, message)

    return handler


def load_handler(handler: str) -> Any:
    """Import the handler as ``awslambdaric`` does, with its error types and messages."""
    module_name, dot, func_name = handler.rpartition(".")
    if not dot or not module_name:
        raise InitError(
            "Runtime.MalformedHandlerName",
            f"Bad handler '{handler}': not enough values to unpack (expected 2, got 1)",
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise InitError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from exc
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise InitError(
            "Runtime.UserCodeSyntaxError",
            f"Syntax error in module '{module_name}': {exc}",
            trace,
        ) from exc
    except Exception as exc:
        traceback.print_exc()
        raise InitError(type(exc).__name__, str(exc), error_payload(exc)["stackTrace"]) from exc
    try:
        return getattr(module, func_name)
    except AttributeError:  # as AWS: init succeeds, every invocation fails
        return _fault_handler(
            "Runtime.HandlerNotFound", f"Handler '{func_name}' missing on module '{module_name}'"
        )


def _send(out: IO[bytes], message: dict[str, Any]) -> None:
    out.write(json.dumps(message).encode() + b"\n")
    out.flush()


def _max_rss_kb() -> int:
    """Peak resident memory of this process. Not ``ru_maxrss``: that survives exec, so it
    would count the parent's memory at fork time."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def invoke(function: Any, request: dict[str, Any]) -> dict[str, Any]:
    """Run one invocation; the reply the parent gets."""
    try:
        result = function(request["event"], LambdaContext(request["id"], request["timeout"]))
        body, ok = json.dumps(result, default=str), True
    except InitError as exc:
        body, ok = json.dumps(exc.payload), False
    except Exception as exc:
        traceback.print_exc()
        body, ok = json.dumps(error_payload(exc)), False
    sys.stdout.flush()
    sys.stderr.flush()
    return {"ok": ok, "body": body, "max_rss_kb": _max_rss_kb()}


def _private_channels() -> tuple[IO[bytes], IO[bytes]]:
    """Keep the protocol's stdin/stdout for this runner only: the function reads /dev/null on
    stdin and its prints (even C-level) go to stderr."""
    requests_fd, replies_fd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(requests_fd, "rb"), os.fdopen(replies_fd, "wb")


def main(argv: list[str]) -> int:
    code_dir, handler = argv[1], argv[2]
    requests, replies = _private_channels()
    if sys.path and sys.path[0] == os.path.dirname(os.path.abspath(__file__)):
        sys.path.pop(0)  # run by path: this runner's own directory is not the function's
    sys.path.insert(0, code_dir)
    try:
        function = load_handler(handler)
    except InitError as exc:
        sys.stderr.flush()
        _send(replies, {"init_error": exc.payload})
        return 1
    sys.stderr.flush()
    _send(replies, {"ready": True})
    for line in requests:  # until the parent closes stdin: the environment is retired
        _send(replies, invoke(function, json.loads(line)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
