"""Which lab to act on: connection (AWS or local cloud), stack outputs, the workshop-tag guard.

Every resource the chaos commands touch is first checked with one of the ``require_*`` functions:
it must carry ``workshop=<workshop>`` in the lab's region, else :class:`NotLabResource` is raised
before any change is made.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import boto3
from botocore.exceptions import ClientError

from reslab.chaos.errors import LabResourceNotFound, NotLabResource

WORKSHOP_TAG = "workshop"
OWNER_TAG = "reslab:owner"
DEFAULT_PREFIX = "Resiliency"
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # noqa: S105 - moto dummy


def resolve_endpoint(endpoint_url: str | None, local: bool) -> str | None:
    """The explicit endpoint, else (--local) a running local cloud, else None (AWS)."""
    if endpoint_url:
        return endpoint_url.rstrip("/")
    if not local:
        return None
    try:
        from reslab.localcloud import discover

        found = discover()
    except ImportError:  # local cloud package not installed
        found = None
    found = found or os.environ.get("AWS_ENDPOINT_URL")
    if not found:
        raise LabResourceNotFound(
            "--local: no running local cloud (start `reslab local up`) "
            "and AWS_ENDPOINT_URL is unset"
        )
    return found.rstrip("/")


def tags_to_dict(tags: list[dict[str, Any]] | None) -> dict[str, str]:
    """``[{"Key": k, "Value": v}]`` (any casing of the key names) -> ``{k: v}``."""
    out: dict[str, str] = {}
    for tag in tags or []:
        key = tag.get("Key", tag.get("key"))
        if key is not None:
            out[str(key)] = str(tag.get("Value", tag.get("value", "")))
    return out


@dataclass
class Lab:
    """One deployed lab: region + workshop tag + stack prefix, on AWS or a local endpoint."""

    region: str
    workshop: str
    stack_prefix: str = DEFAULT_PREFIX
    endpoint_url: str | None = None
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    @property
    def local(self) -> bool:
        return self.endpoint_url is not None

    @cached_property
    def session(self) -> boto3.session.Session:
        if self.local and not (
            os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")
        ):
            return boto3.session.Session(region_name=self.region, **LOCAL_CREDENTIALS)
        return boto3.session.Session(region_name=self.region)

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region)
        if key not in self._clients:
            self._clients[key] = self.session.client(
                service, region_name=key[1], endpoint_url=self.endpoint_url
            )
        return self._clients[key]

    def stack_name(self, suffix: str) -> str:
        return f"{self.stack_prefix}{suffix}"

    def stack_outputs(self, suffix: str, region: str | None = None) -> dict[str, str]:
        """Outputs of ``<prefix><suffix>``; {} when the stack does not exist."""
        try:
            stacks = self.client("cloudformation", region).describe_stacks(
                StackName=self.stack_name(suffix)
            )["Stacks"]
        except ClientError:
            return {}
        return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}

    def output(self, suffix: str, key: str, region: str | None = None) -> str | None:
        return self.stack_outputs(suffix, region).get(key) or None

    def is_lab(self, tags: dict[str, str]) -> bool:
        return tags.get(WORKSHOP_TAG) == self.workshop

    def refuse(self, kind: str, resource_id: str, tags: dict[str, str]) -> NotLabResource:
        found = tags.get(WORKSHOP_TAG)
        why = f"its workshop tag is {found!r}" if found else "it has no workshop tag"
        return NotLabResource(
            f"{kind} {resource_id} in {self.region} is not part of lab {self.workshop!r} ({why}); "
            "refusing to touch it"
        )


# --- lookups + guards, one per resource kind --------------------------------------------------


def require_asg(lab: Lab, name: str | None) -> dict[str, Any]:
    """The lab's Auto Scaling group (by name, else web stack output, else by tag), tag-checked."""
    client = lab.client("autoscaling")
    name = name or lab.output("Web", "AutoScalingGroupName")
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
                f"(no stack {lab.stack_name('Web')}), found {len(groups)}"
            )
    group = groups[0]
    tags = tags_to_dict(group.get("Tags"))
    if not lab.is_lab(tags):
        raise lab.refuse("Auto Scaling group", group["AutoScalingGroupName"], tags)
    return group


def lab_subnets(lab: Lab) -> list[dict[str, Any]]:
    """The lab's subnets (VPC stack outputs, else the workshop tag), each tag-checked."""
    outputs = lab.stack_outputs("VPC")
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
            f"(and no stack {lab.stack_name('VPC')})"
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
            identifier = lab.output("Replica", "ReplicaInstanceIdentifier", region)
        else:
            identifier = lab.output("Database", "DBInstanceIdentifier")
    if identifier:
        try:
            db = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
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
    name = name or lab.output("Storage", "WebsiteBucketName")
    if not name:
        raise LabResourceNotFound(
            f"no website bucket: stack {lab.stack_name('Storage')} has no WebsiteBucketName output "
            "(pass --bucket)"
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
