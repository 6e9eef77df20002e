"""What the authorizer needs to know about existing resources and principals.

The request alone does not say a resource's tags (``aws:ResourceTag``), the stack id inside a
stack's ARN, the KMS key a secret is encrypted with, or a principal's policies. A
:class:`ResourceState` answers; ``reslab.iam.motostate`` reads moto's backends (no HTTP: the
authorizer runs inside a request, under the local cloud's lock), :class:`NoState` knows nothing
(every lookup misses, the ARN variable becomes ``*``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from reslab.iam.evaluate import Principal, ResourcePolicyKind
from reslab.iam.policy import Policy

#: Every resolver a row of ``reslab.iam.operations`` may name in a ``Lookup``, and what it gives.
RESOLVERS: dict[str, str] = {
    "stack_arn": "StackName (name or ARN) -> the stack's ARN (with its id)",
    "secret_arn": "SecretId (name or ARN) -> the secret's ARN (with its random suffix)",
    "secret_kms_key": "SecretId -> ARN of its customer managed KMS key (None: AWS managed)",
    "kms_key_arn": "KeyId (id, ARN, alias name or alias ARN) -> the key's ARN",
    "role_arn": "RoleName -> the role's ARN (with its path)",
    "role_boundary": "RoleName -> ARN of its permissions boundary",
    "instance_profile_arn": "InstanceProfileName -> its ARN (with its path)",
    "parameter_arn": "Name -> the SSM parameter's ARN",
    "parameter_kms_key": "Name -> customer managed key of a SecureString (None: aws/ssm)",
    "subnet_of_acl_association": "network ACL AssociationId -> the subnet's id",
    "instance_of_eni_attachment": "ENI AttachmentId -> the instance's id",
    "eni_of_attachment": "ENI AttachmentId -> the network interface's id",
    "allocation_of_eip_association": "EIP AssociationId -> the allocation id",
    "snapshot_subnet_group": "DBSnapshotIdentifier -> its source instance's DB subnet group",
    "snapshot_option_group": "DBSnapshotIdentifier -> its option group",
    "snapshot_parameter_group": "DBSnapshotIdentifier -> its engine's default parameter group",
}


@dataclass(frozen=True)
class Where:
    """The request's account, region and partition."""

    account: str
    region: str
    partition: str = "aws"


@dataclass(frozen=True)
class PrincipalPolicies:
    identity: tuple[Policy, ...] = ()
    boundary: Policy | None = None
    tags: Mapping[str, str] | None = None  # aws:PrincipalTag/<k>


@dataclass(frozen=True)
class ResourcePolicy:
    policy: Policy
    kind: ResourcePolicyKind


class ResourceState(Protocol):
    def lookup(self, resolver: str, value: str, where: Where) -> str | None:
        """A ``RESOLVERS`` entry applied to one parameter value; None when unknown."""
        ...

    def tags(self, arn: str) -> Mapping[str, str] | None:
        """The tags of an existing resource; None when it does not exist (or has none)."""
        ...

    def resource_policy(self, arn: str, action: str) -> ResourcePolicy | None:
        """The resource-based policy ``action`` on ``arn`` is also judged by (bucket policy, key
        policy, role trust policy)."""
        ...

    def principal_policies(self, principal: Principal) -> PrincipalPolicies:
        """The identity-based policies (inline and managed), boundary and tags of a principal."""
        ...


class NoState:
    """Knows nothing: offline building, and the tests of the table."""

    def lookup(self, resolver: str, value: str, where: Where) -> str | None:
        if resolver not in RESOLVERS:
            raise KeyError(f"unknown resolver {resolver!r}")
        return None

    def tags(self, arn: str) -> Mapping[str, str] | None:
        return None

    def resource_policy(self, arn: str, action: str) -> ResourcePolicy | None:
        return None

    def principal_policies(self, principal: Principal) -> PrincipalPolicies:
        return PrincipalPolicies()
