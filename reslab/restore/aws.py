"""boto3 clients and RDS look-ups shared by the steps (clients as every Lambda makes them:
``reslab_lambda.aws``)."""

from __future__ import annotations

import os
from typing import Any

from reslab_lambda import aws
from reslab_lambda.aws import error_code


def region(event: dict[str, Any]) -> str:
    return str(
        event.get("region_name")
        or event.get("region")
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or "us-east-1"
    )


def client(service: str, event: dict[str, Any]) -> Any:
    return aws.client(service, region(event))


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
