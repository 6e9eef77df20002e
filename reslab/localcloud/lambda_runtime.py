"""Child-process Lambda runtime: ``python lambda_runtime.py <dir> <handler>`` (also ``-m``).

Reads the event (JSON) from stdin, imports ``<module>.<function>`` from ``<dir>`` (the extracted
deployment zip, first on ``sys.path`` so its vendored packages win over the venv's), calls it and
writes one JSON document to the ORIGINAL stdout: the result, or on an exception the error object
AWS Lambda returns (``errorType`` = exception class name, ``errorMessage``, ``stackTrace``), with
exit status 1. Anything the handler prints goes to stderr, which the parent saves as the log.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
import uuid
from typing import Any


class LambdaContext:
    """The subset of the AWS Lambda context object handlers commonly use."""

    def __init__(self, timeout_s: float) -> None:
        self._deadline = time.monotonic() + timeout_s
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.invoked_function_arn = os.environ.get("RESLAB_LAMBDA_FUNCTION_ARN", "")
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = self.aws_request_id

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


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


def _load_handler(handler: str) -> Any:
    module_name, _, func_name = handler.rpartition(".")
    module = importlib.import_module(module_name.replace("/", "."))
    return getattr(module, func_name)


def main(argv: list[str]) -> int:
    code_dir, handler = argv[1], argv[2]
    # Keep the real stdout for the result only; route prints (even C-level) to stderr.
    result_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    if sys.path and sys.path[0] == os.path.dirname(os.path.abspath(__file__)):
        sys.path.pop(0)  # run by path: this runner's own directory is not the function's
    sys.path.insert(0, code_dir)
    status = 0
    try:
        event = json.loads(sys.stdin.read() or "{}")
        timeout = float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3"))
        result: Any = _load_handler(handler)(event, LambdaContext(timeout))
        body = json.dumps(result, default=str)
    except Exception as exc:
        traceback.print_exc()
        body = json.dumps(error_payload(exc))
        status = 1
    with os.fdopen(result_fd, "w", encoding="utf-8") as out:
        out.write(body)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
