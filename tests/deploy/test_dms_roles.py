"""The DMS mode's account prerequisites (``reslab.installer.dms_roles``): ``reslab install``
creates the two fixed-name service roles DMS assumes only when the account lacks them."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reslab.installer.dms_roles import (
    DMS_SERVICE_ROLES,
    DmsPrerequisiteMissing,
    ensure_dms_service_roles,
)
from reslab.localcloud.testing import unique_prefix

REGION = "us-west-2"

NAMES = [role.name for role in DMS_SERVICE_ROLES]


def _delete(iam: Any, name: str) -> None:
    with contextlib.suppress(iam.exceptions.NoSuchEntityException):
        for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
        iam.delete_role(RoleName=name)


def _subnet_group(cloud: Any, name: str) -> dict[str, Any]:
    ec2, dms = cloud.client("ec2", REGION), cloud.client("dms", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.57.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.57.{i}.0/24", AvailabilityZone=REGION + z)[
            "Subnet"
        ]["SubnetId"]
        for i, z in enumerate("ab")
    ]
    try:
        return dict(
            dms.create_replication_subnet_group(
                ReplicationSubnetGroupIdentifier=name,
                ReplicationSubnetGroupDescription="roles test",
                SubnetIds=subnets,
            )["ReplicationSubnetGroup"]
        )
    finally:
        with contextlib.suppress(ClientError):
            dms.delete_replication_subnet_group(ReplicationSubnetGroupIdentifier=name)


def test_the_missing_roles_are_created_with_dms_trust_and_their_managed_policy(
    local_cloud: Any,
) -> None:
    iam = local_cloud.client("iam")
    for name in NAMES:
        _delete(iam, name)
    # without dms-vpc-role DMS cannot place a replication instance: refused, as on AWS
    with pytest.raises(ClientError, match="AccessDeniedFault.*dms-vpc-role is not configured"):
        _subnet_group(local_cloud, unique_prefix("roles"))
    # one of them already there (an account that used the DMS console): kept as it is
    iam.create_role(
        RoleName="dms-vpc-role",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        Description="made by the console",
    )
    try:
        assert ensure_dms_service_roles(iam) == ["dms-cloudwatch-logs-role"]
        assert iam.get_role(RoleName="dms-vpc-role")["Role"]["Description"] == (
            "made by the console"
        )
        role = iam.get_role(RoleName="dms-cloudwatch-logs-role")["Role"]
        [statement] = role["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "dms.amazonaws.com"}
        attached = iam.list_attached_role_policies(RoleName="dms-cloudwatch-logs-role")
        assert [p["PolicyArn"] for p in attached["AttachedPolicies"]] == [
            "arn:aws:iam::aws:policy/service-role/AmazonDMSCloudWatchLogsRole"
        ]
        assert ensure_dms_service_roles(iam) == []  # idempotent: nothing left to create
        assert _subnet_group(local_cloud, unique_prefix("roles"))["VpcId"]
    finally:  # the other DMS tests of this local cloud need them
        ensure_dms_service_roles(iam)


class _NoCreate:
    """An IAM client of an identity that may read roles but not create them."""

    def __init__(self, iam: Any) -> None:
        self._iam = iam

    def get_role(self, **kw: Any) -> Any:
        return self._iam.get_role(**kw)

    def create_role(self, **kw: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "CreateRole")


def test_a_role_that_cannot_be_created_is_a_named_error(local_cloud: Any) -> None:
    iam = local_cloud.client("iam")
    for name in NAMES:
        _delete(iam, name)
    try:
        with pytest.raises(DmsPrerequisiteMissing, match="dms-vpc-role .*AccessDenied.*"):
            ensure_dms_service_roles(_NoCreate(iam))
    finally:
        ensure_dms_service_roles(iam)
