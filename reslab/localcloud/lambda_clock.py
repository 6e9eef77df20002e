"""A Lambda's timeout clock does not run while its API calls wait for the local cloud's lock.

The local cloud serves one request at a time (``serialise``); on a busy machine a call can wait
seconds behind other clients' requests, which AWS's API never makes a function do. So time an
execution environment's requests spend queued for that lock is credited to its invocation's
deadline: ``Sandbox.Timedout`` means the function was slow, not the emulator. (The function's
``context.get_remaining_time_in_millis()`` does not see the credit: it errs on the short side.)

An environment's requests are recognised by the SDK's application id in the User-Agent
(``AWS_SDK_UA_APP_ID``, which boto3 and the AWS CLI send as ``app/<id>``), set per environment.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

#: The environment variable that makes the SDK name the environment in every request.
APP_ID_VARIABLE = "AWS_SDK_UA_APP_ID"
_PREFIX = "lambda-env-"
_APP_ID = re.compile(rf"\bapp/{_PREFIX}([0-9a-f]{{32}})\b")
_lock = threading.Lock()
#: environment id -> [seconds credited, start times of its requests waiting now]
_credit: dict[str, tuple[float, list[float]]] = {}


def new_environment() -> tuple[str, str]:
    """(environment id, the app id its SDK sends); the id's credit starts at 0."""
    environment = uuid.uuid4().hex
    with _lock:
        _credit[environment] = (0.0, [])
    return environment, f"{_PREFIX}{environment}"


def _nothing() -> None:
    return None


def observe(environ: dict[str, Any]) -> Callable[[], None]:
    """``serialise.WAIT_OBSERVERS`` hook: an environment's request starts waiting; the wait is
    credited while it lasts (the deadline must not pass meanwhile) and when it ends."""
    match = _APP_ID.search(str(environ.get("HTTP_USER_AGENT", "")))
    environment = match.group(1) if match else ""
    arrived = time.monotonic()
    with _lock:
        if environment not in _credit:
            return _nothing
        _credit[environment][1].append(arrived)

    def acquired() -> None:
        with _lock:
            if environment in _credit:
                credit, waiting = _credit[environment]
                waiting.remove(arrived)
                _credit[environment] = (credit + time.monotonic() - arrived, waiting)

    return acquired


def credited(environment: str) -> float:
    """Seconds the environment's requests have waited for the lock so far."""
    now = time.monotonic()
    with _lock:
        credit, waiting = _credit.get(environment, (0.0, []))
        return credit + sum(now - arrived for arrived in waiting)


def forget(environment: str) -> None:
    with _lock:
        _credit.pop(environment, None)
