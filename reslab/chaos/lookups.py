"""Read-only AWS look-ups (chaostoolkit-aws "probes"): plain functions named by what they find.

Two kinds: ``require_*`` / :func:`lab_subnets` find one of the lab's resources (by option, else
stack output, else workshop tag) and raise :class:`NotLabResource` unless it carries
``workshop=<workshop>`` in the lab's region, so every resource the chaos commands touch is checked
before any change is made; the others take a boto3 client and read one thing.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from reslab.chaos.errors import LabResourceNotFound, NotLabResource
from reslab.chaos.lab import (
    DATABASE_STACK,
    OWNER_TAG,
    REPLICA_STACK,
    STORAGE_STACK,
    VPC_STACK,
    WEB_STACK,
    WORKSHOP_TAG,
    Lab,
    tags_to_dict,
)


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
    acls = ec2.describe_network_acls(Filters=[{"Name": f"tag:{OWNER_TAG}", "Values": [owner]}])[
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


# --- the lab's resources, each tag-checked -----------------------------------------------------


def require_asg(lab: Lab, name: str | None) -> dict[str, Any]:
    """The lab's Auto Scaling group (by name, else web stack output, else by tag), tag-checked."""
    client = lab.client("autoscaling")
    name = name or lab.output(WEB_STACK, "AutoScalingGroupName")
    if name:
        groups = client.describe_auto_scaling_groups(AutoScalingGroupNames=[name])[
            "AutoScalingGroups"
        ]
        if not groups:
            raise LabResourceNotFound(f"Auto Scaling group {name} not found in {lab.region}")
    else:
        pages = client.get_paginator("describe_auto_scaling_groups").paginate()
        groups = [g for page in pages for g in page["AutoScalingGroups"]]
        groups = [g for g in groups if lab.is_lab(tags_to_dict(g.get("Tags")))]
        if len(groups) != 1:
            raise LabResourceNotFound(
                f"expected one Auto Scaling group tagged workshop={lab.workshop} in {lab.region} "
                f"(no stack {lab.stack_name(WEB_STACK)}), found {len(groups)}"
            )
    group = groups[0]
    tags = tags_to_dict(group.get("Tags"))
    if not lab.is_lab(tags):
        raise lab.refuse("Auto Scaling group", group["AutoScalingGroupName"], tags)
    return group


def lab_subnets(lab: Lab) -> list[dict[str, Any]]:
    """The lab's subnets (VPC stack outputs, else the workshop tag), each tag-checked."""
    outputs = lab.stack_outputs(VPC_STACK)
    ids = [
        s.strip()
        for key in ("PublicSubnetIds", "PrivateSubnetIds")
        for s in outputs.get(key, "").split(",")
        if s.strip()
    ]
    ec2 = lab.client("ec2")
    if ids:
        subnets = ec2.describe_subnets(SubnetIds=ids)["Subnets"]
    else:
        subnets = ec2.describe_subnets(
            Filters=[{"Name": f"tag:{WORKSHOP_TAG}", "Values": [lab.workshop]}]
        )["Subnets"]
    for subnet in subnets:
        tags = tags_to_dict(subnet.get("Tags"))
        if not lab.is_lab(tags):
            raise lab.refuse("subnet", subnet["SubnetId"], tags)
    if not subnets:
        raise LabResourceNotFound(
            f"no subnet tagged workshop={lab.workshop} in {lab.region} "
            f"(and no stack {lab.stack_name(VPC_STACK)})"
        )
    return sorted(subnets, key=lambda s: (s["AvailabilityZone"], s["SubnetId"]))


def _db_tags(lab: Lab, db: dict[str, Any], region: str | None) -> dict[str, str]:
    if "TagList" in db:
        return tags_to_dict(db["TagList"])
    rds = lab.client("rds", region)
    return tags_to_dict(rds.list_tags_for_resource(ResourceName=db["DBInstanceArn"])["TagList"])


def require_db(
    lab: Lab, identifier: str | None, *, replica: bool = False, region: str | None = None
) -> dict[str, Any]:
    """The lab database (or its read replica), tag-checked in its region."""
    rds = lab.client("rds", region)
    if identifier is None:
        if replica:
            identifier = lab.output(REPLICA_STACK, "ReplicaInstanceIdentifier", region)
        else:
            identifier = lab.output(DATABASE_STACK, "DBInstanceIdentifier")
    if identifier:
        try:
            db = db_instance(rds, identifier)
        except ClientError as exc:
            raise LabResourceNotFound(
                f"DB instance {identifier} not found in {region or lab.region}"
            ) from exc
    else:
        pages = rds.get_paginator("describe_db_instances").paginate()
        dbs = [
            d
            for page in pages
            for d in page["DBInstances"]
            if bool(d.get("ReadReplicaSourceDBInstanceIdentifier")) == replica
            and lab.is_lab(_db_tags(lab, d, region))
        ]
        if len(dbs) != 1:
            what = "read replica" if replica else "DB instance"
            raise LabResourceNotFound(
                f"expected one {what} tagged workshop={lab.workshop} in {region or lab.region}, "
                f"found {len(dbs)}"
            )
        db = dbs[0]
    tags = _db_tags(lab, db, region)
    if not lab.is_lab(tags):
        raise lab.refuse("DB instance", db["DBInstanceIdentifier"], tags)
    return db


def require_bucket(lab: Lab, name: str | None) -> str:
    """The website bucket (by name, else storage stack output WebsiteBucketName), tag-checked."""
    name = name or lab.output(STORAGE_STACK, "WebsiteBucketName")
    if not name:
        raise LabResourceNotFound(
            f"no website bucket: stack {lab.stack_name(STORAGE_STACK)} has no WebsiteBucketName "
            "output (pass --bucket)"
        )
    s3 = lab.client("s3")
    try:
        tags = tags_to_dict(s3.get_bucket_tagging(Bucket=name).get("TagSet"))
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchBucket", "404"):
            raise LabResourceNotFound(f"bucket {name} not found") from exc
        tags = {}
    if not lab.is_lab(tags):
        raise lab.refuse("bucket", name, tags)
    location = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
    if location != lab.region:
        raise NotLabResource(
            f"bucket {name} is in {location}, not in the lab's region {lab.region}; refusing"
        )
    return name


def website_image_url(site_url: str, timeout: float = 10.0) -> str:
    """The URL of the picture the lab's page shows (``image_url`` of ``<site>/api/status``: on
    the lab, a URL presigned for the website bucket's image), for a probe that follows it."""
    status_url = site_url.rstrip("/") + "/api/status"
    try:
        with urllib.request.urlopen(status_url, timeout=timeout) as answer:  # noqa: S310
            image = json.loads(answer.read()).get("image_url") or ""
    except (OSError, ValueError, AttributeError) as exc:
        message = f"--probe: cannot read the image URL from {status_url}: {exc}"
        raise LabResourceNotFound(message) from None
    if not str(image).startswith(("http://", "https://")):
        raise LabResourceNotFound(
            f"--probe: the page at {site_url} shows no website image; pass --probe-url URL"
        )
    return str(image)
