"""boto3 as every Lambda uses it (deploy and restore alike): one client configuration, one way
to read the error code of a failed call.

Inside the local cloud ``AWS_ENDPOINT_URL`` points boto3 at it; on AWS the defaults apply.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import boto3
from botocore.config import Config

#: Standard retries (throttling, 5xx) up to 8 attempts: a fleet of labs shares one account's
#: CloudFormation and RDS rate limits. A dead endpoint fails fast (5 s to connect).
CONFIG = Config(retries={"mode": "standard", "max_attempts": 8}, connect_timeout=5)


_clients: dict[tuple[Any, ...], Any] = {}
_clients_lock = threading.Lock()


def client(service: str, region: str) -> Any:
    """A client kept for the execution environment's later invocations (made outside the
    handler's per-call work, as AWS recommends: making one costs ~10 ms of CPU). Kept per
    ``AWS_*`` environment as well, so code that changes credentials or endpoint in-process
    (tests, a rotated role session) gets a new one."""
    environment = tuple(sorted(item for item in os.environ.items() if item[0].startswith("AWS_")))
    key = (service, region, environment)
    with _clients_lock:  # boto3's default session is not thread-safe while it makes clients
        made = _clients.get(key)
        if made is None:
            made = _clients[key] = boto3.client(service, region_name=region, config=CONFIG)
    return made


def error_code(exc: BaseException) -> str:
    """The AWS error code of a failed call (``ClientError``), else ``""``."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))
