"""What CloudFormation authorizes when it creates or deletes a resource of the lab's templates:
per resource type, the calls AWS's handler makes for the properties the lab sets -- the primary
create/delete action on the resource's ARN, tagging with the request's tags, ``iam:PassRole``
of a role a property hands to a service -- as :class:`~reslab.iam.operations.Authorization`
rows read by :mod:`reslab.iam.context`.

A provider schema lists every permission a handler may need for any property combination
(``reslab/iam/data/cfn_permissions.json``); this table names the ones that apply.
``tests/iam/test_cfn_handlers.py`` checks that every action named here is a permission of that
type's handler, and that every type of the generated file has a row.

The parameters a row reads (built by ``compat/cloudformation/service_role.py``): the resource's
resolved ``Properties``, plus ``Name`` (the physical name CloudFormation gives it: the name
property, or the generated ``<stack>-<logical id>-<suffix>``), ``Tags`` (the stack's tags and
the resource's own, as CloudFormation sends them on create), and on delete ``Id`` (the physical
id: ``Ref``) and ``Arn`` (the model's ARN, when it has one).

Not authorized (docs/iam.md "Not modelled"): the handlers' reads (``Describe*``, ``Get*``,
``List*``), the second and later calls a handler makes to converge (``Modify*``, waits), KMS
grants a service creates on a key, and stack updates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from reslab.iam.operations import Authorization, pass_role
from reslab.iam.sources import Binding, Derived, Fixed, Param

NAME = Param("Name")
#: RDS stores identifiers in lower case (CloudFormation's generated names included)
LOWER_NAME = Derived("lower", "Name")
ID = Param("Id")
#: the model's ARN (a value starting with ``arn:`` is used whole)
ARN = Param("Arn")
TAGS = "Tags"


@dataclass(frozen=True)
class Call:
    """One authorization of a handler; ``unless``: not when this property is set (a read
    replica is ``CreateDBInstanceReadReplica``, not ``CreateDBInstance``)."""

    authorization: Authorization
    unless: str | None = None


@dataclass(frozen=True)
class Handler:
    create: tuple[Call, ...]
    delete: tuple[Call, ...]
    #: Only for the types the lab updates (``reslab mode``: cfn_role.UPDATED_TYPES).
    update: tuple[Call, ...] = ()


def _a(
    action: str,
    resources: Mapping[str, Binding] | None = None,
    *,
    tags: bool = False,
    when: str | None = None,
    unless: str | None = None,
    context: Mapping[str, Param | Fixed | Derived] | None = None,
) -> Call:
    return Call(
        Authorization(
            action,
            resources or {},
            TAGS if tags else None,
            context or {},
            when=Param(when) if when else None,
        ),
        unless,
    )


def _passes(path: str, service: str) -> Call:
    return Call(pass_role(path, service))


def _tagging(action: str, resource_type: str, binding: Binding) -> Call:
    return _a(action, {resource_type: binding}, tags=True, when=TAGS)


def _ec2(resource_type: str, create: str, delete: str, *parents: tuple[str, str]) -> Handler:
    """An EC2 resource created with its tags (``TagSpecifications``), deleted by id; ``parents``:
    (resource type, property) of the existing resources the create call names."""
    on = {resource_type: {}, **{rt: Param(prop) for rt, prop in parents}}
    return Handler(
        (_a(f"ec2:{create}", on, tags=True),),
        (_a(f"ec2:{delete}", {resource_type: ID}),),
    )


def _on_parent(action: str, delete: str, parents: Mapping[str, str]) -> Handler:
    """A resource that is a change to existing ones (a route, an association, a rule)."""
    on = {rt: Param(prop) for rt, prop in parents.items()}
    return Handler((_a(action, on),), (_a(delete, on),))


_ROLE = Derived("role_arn_of_path", "Path", "Name")
_BOUNDARY = {"iam:PermissionsBoundary": Param("PermissionsBoundary")}
_KMS_ALIAS = {"alias": Derived("kms_alias_name", "AliasName"), "key": Param("TargetKeyId")}

CFN_HANDLERS: Mapping[str, Handler] = {
    "AWS::AutoScaling::AutoScalingGroup": Handler(
        (
            _a(
                "autoscaling:CreateAutoScalingGroup",
                {"autoScalingGroup": {"GroupFriendlyName": NAME}},
                tags=True,
            ),
        ),
        (
            _a(
                "autoscaling:DeleteAutoScalingGroup",
                {"autoScalingGroup": {"GroupFriendlyName": ID}},
            ),
        ),
    ),
    "AWS::DMS::Endpoint": Handler(
        (_a("dms:CreateEndpoint", tags=True),), (_a("dms:DeleteEndpoint", {"Endpoint": ARN}),)
    ),
    "AWS::DMS::ReplicationInstance": Handler(
        (_a("dms:CreateReplicationInstance", tags=True),),
        (_a("dms:DeleteReplicationInstance", {"ReplicationInstance": ARN}),),
    ),
    "AWS::DMS::ReplicationSubnetGroup": Handler(
        (_a("dms:CreateReplicationSubnetGroup", tags=True),),
        (_a("dms:DeleteReplicationSubnetGroup", {"ReplicationSubnetGroup": {}}),),
    ),
    "AWS::DMS::ReplicationTask": Handler(
        (
            _a(
                "dms:CreateReplicationTask",
                {
                    "Endpoint": Param("SourceEndpointArn"),
                    "ReplicationInstance": Param("ReplicationInstanceArn"),
                },
                tags=True,
            ),
        ),
        (_a("dms:DeleteReplicationTask", {"ReplicationTask": ARN}),),
    ),
    "AWS::EC2::EIP": Handler(
        (_a("ec2:AllocateAddress", {"elastic-ip": {}}, tags=True),),
        (_a("ec2:ReleaseAddress", {"elastic-ip": Param("AllocationId")}),),
    ),
    "AWS::EC2::InternetGateway": _ec2(
        "internet-gateway", "CreateInternetGateway", "DeleteInternetGateway"
    ),
    "AWS::EC2::LaunchTemplate": replace(
        _ec2("launch-template", "CreateLaunchTemplate", "DeleteLaunchTemplate"),
        update=(_a("ec2:CreateLaunchTemplateVersion", {"launch-template": ID}),),
    ),
    "AWS::EC2::NatGateway": _ec2(
        "natgateway",
        "CreateNatGateway",
        "DeleteNatGateway",
        ("subnet", "SubnetId"),
        ("elastic-ip", "AllocationId"),
    ),
    "AWS::EC2::Route": _on_parent(
        "ec2:CreateRoute", "ec2:DeleteRoute", {"route-table": "RouteTableId"}
    ),
    "AWS::EC2::RouteTable": _ec2(
        "route-table", "CreateRouteTable", "DeleteRouteTable", ("vpc", "VpcId")
    ),
    "AWS::EC2::SecurityGroup": _ec2(
        "security-group", "CreateSecurityGroup", "DeleteSecurityGroup", ("vpc", "VpcId")
    ),
    "AWS::EC2::SecurityGroupEgress": _on_parent(
        "ec2:AuthorizeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupEgress",
        {"security-group": "GroupId"},
    ),
    "AWS::EC2::SecurityGroupIngress": _on_parent(
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupIngress",
        {"security-group": "GroupId"},
    ),
    "AWS::EC2::Subnet": _ec2("subnet", "CreateSubnet", "DeleteSubnet", ("vpc", "VpcId")),
    "AWS::EC2::SubnetRouteTableAssociation": _on_parent(
        "ec2:AssociateRouteTable",
        "ec2:DisassociateRouteTable",
        {"route-table": "RouteTableId", "subnet": "SubnetId"},
    ),
    "AWS::EC2::VPC": _ec2("vpc", "CreateVpc", "DeleteVpc"),
    "AWS::EC2::VPCGatewayAttachment": _on_parent(
        "ec2:AttachInternetGateway",
        "ec2:DetachInternetGateway",
        {"internet-gateway": "InternetGatewayId", "vpc": "VpcId"},
    ),
    "AWS::ElasticLoadBalancingV2::Listener": Handler(
        (
            _a(
                "elasticloadbalancing:CreateListener",
                {"loadbalancer/app/": Param("LoadBalancerArn")},
                tags=True,
            ),
        ),
        (_a("elasticloadbalancing:DeleteListener", {"listener/app": ARN}),),
    ),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": Handler(
        (
            _a(
                "elasticloadbalancing:CreateLoadBalancer",
                {"loadbalancer/app/": {"LoadBalancerName": NAME}},
                tags=True,
            ),
        ),
        (_a("elasticloadbalancing:DeleteLoadBalancer", {"loadbalancer/app/": ARN}),),
    ),
    "AWS::ElasticLoadBalancingV2::TargetGroup": Handler(
        (
            _a(
                "elasticloadbalancing:CreateTargetGroup",
                {"targetgroup": {"TargetGroupName": NAME}},
                tags=True,
            ),
        ),
        (_a("elasticloadbalancing:DeleteTargetGroup", {"targetgroup": ARN}),),
    ),
    "AWS::Events::Rule": Handler(
        (
            _a("events:PutRule", {"rule-on-default-event-bus": NAME}, tags=True),
            _a("events:PutTargets", {"rule-on-default-event-bus": NAME}, when="Targets"),
            _passes("Targets[].RoleArn", "events.amazonaws.com"),
        ),
        (
            _a("events:RemoveTargets", {"rule-on-default-event-bus": ID}, when="Targets"),
            _a("events:DeleteRule", {"rule-on-default-event-bus": ID}),
        ),
    ),
    "AWS::IAM::InstanceProfile": Handler(
        (
            _a("iam:CreateInstanceProfile", {"instance-profile": NAME}),
            _a("iam:AddRoleToInstanceProfile", {"instance-profile": NAME}, when="Roles"),
            _passes("Roles[]", "ec2.amazonaws.com"),
        ),
        (
            _a("iam:RemoveRoleFromInstanceProfile", {"instance-profile": ID}, when="Roles"),
            _a("iam:DeleteInstanceProfile", {"instance-profile": ID}),
        ),
    ),
    "AWS::IAM::ManagedPolicy": Handler(
        (_a("iam:CreatePolicy", {"policy": NAME}),), (_a("iam:DeletePolicy", {"policy": ID}),)
    ),
    "AWS::IAM::Role": Handler(
        (
            _a("iam:CreateRole", {"role": _ROLE}, context=_BOUNDARY),
            _a("iam:PutRolePolicy", {"role": _ROLE}, when="Policies", context=_BOUNDARY),
            _a(
                "iam:AttachRolePolicy",
                {"role": _ROLE},
                when="ManagedPolicyArns",
                context={**_BOUNDARY, "iam:PolicyARN": Param("ManagedPolicyArns[]")},
            ),
        ),
        (_a("iam:DeleteRole", {"role": ARN}),),
    ),
    "AWS::KMS::Alias": Handler(
        (_a("kms:CreateAlias", _KMS_ALIAS),), (_a("kms:DeleteAlias", _KMS_ALIAS),)
    ),
    "AWS::KMS::Key": Handler(
        (_a("kms:CreateKey", tags=True),), (_a("kms:ScheduleKeyDeletion", {"key": ARN}),)
    ),
    "AWS::Lambda::Function": Handler(
        (
            _a("lambda:CreateFunction", {"function": NAME}, tags=True),
            _passes("Role", "lambda.amazonaws.com"),
            _tagging("lambda:TagResource", "function", NAME),
        ),
        (_a("lambda:DeleteFunction", {"function": ID}),),
    ),
    "AWS::Lambda::Permission": _on_parent(
        "lambda:AddPermission", "lambda:RemovePermission", {"function": "FunctionName"}
    ),
    "AWS::Logs::LogGroup": Handler(
        (_a("logs:CreateLogGroup", {"log-group": NAME}, tags=True),),
        (_a("logs:DeleteLogGroup", {"log-group": ID}),),
    ),
    "AWS::RDS::DBInstance": Handler(
        (
            _a(
                "rds:CreateDBInstance",
                {"db": LOWER_NAME},
                tags=True,
                unless="SourceDBInstanceIdentifier",
            ),
            _a(
                "rds:CreateDBInstanceReadReplica",
                {"db": LOWER_NAME},
                tags=True,
                when="SourceDBInstanceIdentifier",
            ),
            _tagging("rds:AddTagsToResource", "db", LOWER_NAME),
            _a(
                "secretsmanager:CreateSecret",
                {"Secret": {"SecretId": Fixed("rds!db-*")}},
                when="ManageMasterUserPassword",
            ),
            _passes("MonitoringRoleArn", "monitoring.rds.amazonaws.com"),
        ),
        (_a("rds:DeleteDBInstance", {"db": LOWER_NAME}),),
    ),
    "AWS::RDS::DBParameterGroup": Handler(
        (_a("rds:CreateDBParameterGroup", {"pg": LOWER_NAME}, tags=True),),
        (_a("rds:DeleteDBParameterGroup", {"pg": LOWER_NAME}),),
    ),
    "AWS::RDS::DBSubnetGroup": Handler(
        (_a("rds:CreateDBSubnetGroup", {"subgrp": LOWER_NAME}, tags=True),),
        (_a("rds:DeleteDBSubnetGroup", {"subgrp": LOWER_NAME}),),
    ),
    "AWS::S3::Bucket": Handler(
        (
            _a("s3:CreateBucket", {"bucket": NAME}),
            _tagging("s3:PutBucketTagging", "bucket", NAME),
        ),
        (_a("s3:DeleteBucket", {"bucket": ID}),),
    ),
    "AWS::S3::BucketPolicy": _on_parent(
        "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", {"bucket": "Bucket"}
    ),
    "AWS::SSM::Parameter": Handler(
        (
            _a("ssm:PutParameter", {"parameter": Derived("without_leading_slash", "Name")}),
            _tagging(
                "ssm:AddTagsToResource", "parameter", Derived("without_leading_slash", "Name")
            ),
        ),
        (_a("ssm:DeleteParameter", {"parameter": Derived("without_leading_slash", "Name")}),),
    ),
    "AWS::Scheduler::Schedule": Handler(
        (
            _a(
                "scheduler:CreateSchedule",
                {"schedule": {"GroupName": Param("GroupName", "default"), "ScheduleName": NAME}},
            ),
            _passes("Target.RoleArn", "scheduler.amazonaws.com"),
        ),
        (
            _a(
                "scheduler:DeleteSchedule",
                {"schedule": {"GroupName": Param("GroupName", "default"), "ScheduleName": NAME}},
            ),
        ),
    ),
    "AWS::Scheduler::ScheduleGroup": Handler(
        (_a("scheduler:CreateScheduleGroup", {"schedule-group": NAME}, tags=True),),
        (_a("scheduler:DeleteScheduleGroup", {"schedule-group": NAME}),),
    ),
    "AWS::SecretsManager::Secret": Handler(
        (_a("secretsmanager:CreateSecret", {"Secret": {}}, tags=True),),
        (_a("secretsmanager:DeleteSecret", {"Secret": ID}),),
    ),
    "AWS::SecretsManager::SecretTargetAttachment": _on_parent(
        "secretsmanager:PutSecretValue", "secretsmanager:PutSecretValue", {"Secret": "SecretId"}
    ),
    "AWS::StepFunctions::StateMachine": Handler(
        (
            _a("states:CreateStateMachine", {"statemachine": NAME}, tags=True),
            _passes("RoleArn", "states.amazonaws.com"),
        ),
        (_a("states:DeleteStateMachine", {"statemachine": ARN}),),
    ),
}


def calls(
    resource_type: str, handler: str, properties: Mapping[str, object]
) -> list[Authorization]:
    """The authorizations of one handler (``create``/``delete``) for these properties; none for
    a type without a row."""
    row = CFN_HANDLERS.get(resource_type)
    if row is None:
        return []
    steps = {"create": row.create, "delete": row.delete, "update": row.update}[handler]
    return [
        step.authorization
        for step in steps
        if step.unless is None or properties.get(step.unless) in (None, "", [], {})
    ]


def handler_actions(resource_types: Iterable[str]) -> list[str]:
    """Every action the create and delete handlers of these types may be authorized for: what
    a principal creating a stack of them without a service role needs (sorted, unique)."""
    return sorted(
        {
            step.authorization.action
            for resource_type in resource_types
            for row in (CFN_HANDLERS.get(resource_type),)
            if row is not None
            for step in (*row.create, *row.delete, *row.update)
        }
    )
