"""boto3 as every Lambda uses it (deploy and restore alike): one client configuration, one way
to read the error code of a failed call.

Inside the local cloud ``AWS_ENDPOINT_URL`` points boto3 at it; on AWS the defaults apply.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

#: Standard retries (throttling, 5xx) up to 8 attempts: a fleet of labs shares one account's
#: CloudFormation and RDS rate limits. A dead endpoint fails fast (5 s to connect).
CONFIG = Config(retries={"mode": "standard", "max_attempts": 8}, connect_timeout=5)


def client(service: str, region: str) -> Any:
    return boto3.client(service, region_name=region, config=CONFIG)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a failed call (``ClientError``), else ``""``."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))
