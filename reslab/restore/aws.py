"""boto3 clients and RDS look-ups shared by the steps.

Inside the local cloud ``AWS_ENDPOINT_URL`` points boto3 at it; on AWS the defaults apply.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=5)


def region(event: dict[str, Any]) -> str:
    return str(
        event.get("region_name")
        or event.get("region")
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or "us-east-1"
    )


def client(service: str, event: dict[str, Any]) -> Any:
    return boto3.client(service, region_name=region(event), config=_CONFIG)


def error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def describe_instance(rds: Any, instance_id: str) -> dict[str, Any] | None:
    """The instance's description, or None when it does not exist."""
    try:
        found = rds.describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"]
    except Exception as exc:
        if error_code(exc) in ("DBInstanceNotFound", "DBInstanceNotFoundFault"):
            return None
        raise
    return found[0] if found else None


def tags_of(rds: Any, arn: str) -> dict[str, str]:
    tags = rds.list_tags_for_resource(ResourceName=arn).get("TagList", [])
    return {t["Key"]: t["Value"] for t in tags}
