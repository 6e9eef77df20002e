"""The prologue every Lambda handler runs, deploy side and restore side alike.

* Logging: the ``reslab`` logger at the event's ``log_level`` when the payload carries one
  (the execution input, or its ``event`` / ``state`` the machines pass along), else the
  function's ``LOG_LEVEL`` environment variable (the installer stack's ``LogLevel``), else INFO;
  the input and the result are logged at DEBUG.
* AWS clients: ``reslab_lambda.aws`` (one retry configuration).
* Errors: a step raises a named error whose class name IS the Step Functions error
  (``errorType``): ``InvalidEvent``, ``StackFailed``, ``SnapshotNotFound``... Nothing is caught
  here, so the machines' ``Catch`` and the CLI see exactly that name.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

LOGGER = logging.getLogger("reslab")
LOG_LEVEL_ENV = "LOG_LEVEL"
DEFAULT_LOG_LEVEL = "INFO"
#: Where a payload may carry the event: the execution input itself, or passed along by a Task.
_EVENT_SLOTS = ("event", "state")
Result = TypeVar("Result")


def _valid(level: Any) -> bool:
    return isinstance(level, str) and level in logging.getLevelNamesMapping()


def log_level(payload: Any) -> str:
    """The event's ``log_level``, else ``$LOG_LEVEL``, else INFO (an unknown name is skipped)."""
    if isinstance(payload, Mapping):
        for where in (payload, *(payload.get(slot) for slot in _EVENT_SLOTS)):
            if isinstance(where, Mapping) and _valid(where.get("log_level")):
                return str(where["log_level"])
    env = os.environ.get(LOG_LEVEL_ENV)
    return env if _valid(env) else DEFAULT_LOG_LEVEL


def start(name: str, payload: Any) -> logging.Logger:
    """Set the log level for this invocation and log the input."""
    logging.basicConfig(level=logging.INFO)
    LOGGER.setLevel(log_level(payload))
    LOGGER.debug("%s input: %s", name, json.dumps(payload, default=str))
    return LOGGER


def handle(name: str, payload: Any, step: Callable[[Any], Result]) -> Result:
    """Run ``step(payload)`` after the prologue; its named errors propagate unchanged."""
    log = start(name, payload)
    result = step(payload)
    log.debug("%s result: %s", name, json.dumps(result, default=str))
    return result


def handler(name: str, step: Callable[[Any], Result]) -> Callable[[Any, Any], Result]:
    """The Lambda entry point (``lambda_function.lambda_handler``) of function ``name``:
    the prologue, then ``step(event)``."""

    def lambda_handler(event: Any, context: Any) -> Result:
        return handle(name, event, step)

    return lambda_handler
