"""IAM permissions as data: a :class:`Grant` is one policy statement's worth -- actions on a named
KIND of resource, optionally under a condition -- never a CloudFormation expression.

The installer template (``reslab.installer.template``) turns each kind into the ARNs of one
install (``RESOURCE_KINDS`` there); a role's policy is its grants in order. Kinds:

| kind | what |
|---|---|
| ``any`` | ``*`` (actions AWS cannot scope to a resource, or scoped by the condition) |
| ``own-log-group`` | the function's own log group |
| ``lab-stacks`` | CloudFormation stacks named ``<StackPrefix>*`` |
| ``lab-templates`` | the lab templates under the template bucket's folder |
| ``lab-buckets`` | the lab's buckets (named ``<stack prefix in lower case>*``) and their objects |
| ``cfn-role`` | the CloudFormation service role the lab stacks are created with |
| ``report-buckets`` | the install's report bucket and the lab's buckets, with their objects |
| ``slack-parameter`` | the SSM parameter naming the Slack webhook |
| ``dms-tasks`` | DMS replication tasks of the account (their ARNs are generated, no prefix) |
| ``await-parameters`` | the SSM parameters holding task tokens (``/reslab/await/<StackPrefix>*``) |
| ``event-rules`` | the rule forwarding stack events (one name, in every region of the account) |
| ``event-forwarder-role`` | the role that rule forwards events to the home region with |
| ``template-manifest`` | the installed version's manifest (``<ArtifactPrefix>templates.json``) |
| ``lab-dbs`` | RDS instances in the install's region and account |
| ``verify-dbs`` | the restore check's temporary instances (``verify-*``) |
| ``verify-snapshots`` | the restore check's snapshots (``verify-*``) |
| ``db-snapshots`` | RDS snapshots in the install's region and account |
| ``snapshot-of-lab-db`` | RDS instances, and the ``verify-*`` snapshots taken of them |
| ``restored-copy`` | the ``verify-*`` instance restored from a snapshot, in its groups |

Every RDS, Secrets Manager, SSM, KMS and EC2 kind is in the install's region and account.
| ``rds-secrets`` | RDS-managed master-user secrets (``rds!*``) in the region and account |
| ``secrets`` | Secrets Manager secrets in the region and account (with a tag condition) |
| ``parameters`` | SSM parameters in the region and account (with a tag condition) |
| ``kms-keys`` | KMS keys in the region and account (with a ``kms:ViaService`` condition) |
| ``vpc-network`` | network interfaces, subnets and security groups in the region and account |
| ``check-functions`` | the two database-connecting Lambdas (``vpc=True``) of the install |
| ``lab-functions`` | functions the lab's stacks create (named ``<StackPrefix>*``), in any region |

A condition value may name the install's ``${Workshop}`` or ``${AWS::Region}`` (``Fn::Sub``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

#: Every resource kind a grant may name (the template must resolve each one).
RESOURCE_KINDS = (
    "any",
    "own-log-group",
    "lab-stacks",
    "lab-templates",
    "lab-buckets",
    "cfn-role",
    "report-buckets",
    "slack-parameter",
    "dms-tasks",
    "template-manifest",
    "await-parameters",
    "event-rules",
    "event-forwarder-role",
    "lab-dbs",
    "verify-dbs",
    "verify-snapshots",
    "db-snapshots",
    "snapshot-of-lab-db",
    "restored-copy",
    "rds-secrets",
    "secrets",
    "parameters",
    "kms-keys",
    "vpc-network",
    "check-functions",
    "lab-functions",
)


@dataclass(frozen=True)
class Grant:
    """Allow ``actions`` on resources of kind ``resource`` (when ``condition`` holds)."""

    actions: tuple[str, ...]
    resource: str
    condition: Mapping[str, Mapping[str, str]] | None = None

    def __post_init__(self) -> None:
        if self.resource not in RESOURCE_KINDS:
            raise ValueError(f"unknown resource kind {self.resource!r} (known: {RESOURCE_KINDS})")
        if not self.actions:
            raise ValueError("a grant needs at least one action")
