"""The DMS mode's account prerequisites: the two IAM service roles with fixed names that DMS
itself assumes, once per account (not per lab, not per region).

* ``dms-vpc-role`` (AWS managed policy ``AmazonDMSVPCManagementRole``): DMS places the
  replication instance's network interfaces in the lab VPC. Without it
  ``CreateReplicationSubnetGroup`` fails (``AccessDeniedFault``: "The IAM Role
  arn:aws:iam::<account>:role/dms-vpc-role is not configured properly"), so the dms stack would
  roll back half an hour into the deploy.
* ``dms-cloudwatch-logs-role`` (``AmazonDMSCloudWatchLogsRole``): task logs in CloudWatch.

``reslab install`` with an event that turns the DMS mode on (``dms: true``) creates each one
only when absent (an account that used the DMS console already has them, maybe with other
tags: they are never changed), and never deletes them: other DMS users of the account need them
too. An account where the installing identity may not create roles gets
:class:`DmsPrerequisiteMissing` naming the role and how to create it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from reslab.errors import ReslabError

DMS_PRINCIPAL = "dms.amazonaws.com"


@dataclass(frozen=True)
class ServiceRole:
    name: str
    managed_policy: str  # under the partition's ``policy/service-role/``
    why: str


DMS_SERVICE_ROLES = (
    ServiceRole(
        "dms-vpc-role",
        "AmazonDMSVPCManagementRole",
        "DMS places the replication instance in the lab VPC",
    ),
    ServiceRole(
        "dms-cloudwatch-logs-role",
        "AmazonDMSCloudWatchLogsRole",
        "DMS writes the replication task's logs to CloudWatch",
    ),
)


class DmsPrerequisiteMissing(ReslabError):
    """An account-wide role DMS requires is absent and could not be created."""


def _trust_policy() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": DMS_PRINCIPAL},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _exists(iam: Any, name: str) -> bool:
    try:
        iam.get_role(RoleName=name)
    except ClientError as exc:
        if _error_code(exc) == "NoSuchEntity":
            return False
        raise
    return True


def ensure_dms_service_roles(iam: Any, partition: str = "aws") -> list[str]:
    """Create the roles of :data:`DMS_SERVICE_ROLES` that the account lacks; the names created
    (empty when every one was there)."""
    created: list[str] = []
    for role in DMS_SERVICE_ROLES:
        if _exists(iam, role.name):
            continue
        policy_arn = f"arn:{partition}:iam::aws:policy/service-role/{role.managed_policy}"
        try:
            iam.create_role(
                RoleName=role.name,
                AssumeRolePolicyDocument=_trust_policy(),
                Description=f"DMS account prerequisite: {role.why} (created by reslab install)",
            )
            iam.attach_role_policy(RoleName=role.name, PolicyArn=policy_arn)
        except ClientError as exc:
            raise DmsPrerequisiteMissing(
                f"the account has no IAM role {role.name} ({role.why}) and reslab install could "
                f"not create it ({_error_code(exc)}): create it once per account with trust in "
                f"{DMS_PRINCIPAL} and the managed policy {policy_arn}, then install again"
            ) from exc
        created.append(role.name)
    return created
