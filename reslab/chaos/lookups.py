"""Probes: read-only functions taking a boto3 client (chaostoolkit-aws style)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from reslab.chaos.lab import tags_to_dict


def describe_in_service_instances(asg_group: dict[str, Any]) -> list[dict[str, Any]]:
    """Instances of an Auto Scaling group description that are InService."""
    return [i for i in asg_group.get("Instances", []) if i.get("LifecycleState") == "InService"]


def instance_tags(ec2: Any, instance_ids: list[str]) -> dict[str, dict[str, str]]:
    """instance id -> tags."""
    if not instance_ids:
        return {}
    reservations = ec2.describe_instances(InstanceIds=instance_ids)["Reservations"]
    return {
        i["InstanceId"]: tags_to_dict(i.get("Tags")) for r in reservations for i in r["Instances"]
    }


def subnet_acl_associations(ec2: Any, subnet_ids: list[str]) -> dict[str, dict[str, str]]:
    """subnet id -> {"acl": network ACL id, "association": association id}."""
    if not subnet_ids:
        return {}
    acls = ec2.describe_network_acls(
        Filters=[{"Name": "association.subnet-id", "Values": subnet_ids}]
    )["NetworkAcls"]
    wanted = set(subnet_ids)
    return {
        a["SubnetId"]: {"acl": acl["NetworkAclId"], "association": a["NetworkAclAssociationId"]}
        for acl in acls
        for a in acl.get("Associations", [])
        if a.get("SubnetId") in wanted
    }


def network_acls_owned_by(ec2: Any, owner: str) -> list[str]:
    """Ids of the network ACLs tagged ``reslab:owner=<owner>`` (ours, from one injection)."""
    acls = ec2.describe_network_acls(Filters=[{"Name": "tag:reslab:owner", "Values": [owner]}])[
        "NetworkAcls"
    ]
    return sorted(acl["NetworkAclId"] for acl in acls)


def bucket_policy_text(s3: Any, bucket: str) -> str | None:
    """The bucket policy exactly as stored, or None when the bucket has none."""
    try:
        return str(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchBucketPolicy":
            return None
        raise


def bucket_policy_statement_sids(s3: Any, bucket: str) -> list[str]:
    text = bucket_policy_text(s3, bucket)
    if text is None:
        return []
    return [str(s.get("Sid", "")) for s in json.loads(text).get("Statement", [])]


def db_instance(rds: Any, identifier: str) -> dict[str, Any]:
    return rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]


def replica_lag_seconds(cloudwatch: Any, identifier: str, minutes: int = 10) -> float | None:
    """Latest ReplicaLag (seconds) of a read replica from CloudWatch; None when there is no data."""
    end = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace="AWS/RDS",
        MetricName="ReplicaLag",
        Dimensions=[{"Name": "DBInstanceIdentifier", "Value": identifier}],
        StartTime=end - timedelta(minutes=minutes),
        EndTime=end,
        Period=60,
        Statistics=["Maximum"],
    ).get("Datapoints", [])
    if not points:
        return None
    latest = max(points, key=lambda p: p["Timestamp"])
    return float(latest["Maximum"])
