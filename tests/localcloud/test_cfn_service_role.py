"""CloudFormation acts with its service role (gap 71; docs/iam.md): a stack's resources are
authorized against the installed, generated CloudFormation role, or against the caller's policies
when the stack has no role; a denial fails the resource in AWS's words and rolls back."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from reslab.event import local_event, validate_event
from reslab.installer.install import install
from reslab.localcloud.testing import unique_prefix, wait_for_stack

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-2"
ACCOUNT = "123456789012"
REQUEST_ID = "[0-9a-f-]{36}"


@dataclass
class Installed:
    cloud: Any
    prefix: str
    workshop: str
    role_name: str
    role_arn: str

    def client(self, service: str) -> Any:
        return self.cloud.client(service, REGION)

    def session(self) -> str:
        return f"arn:aws:sts::{ACCOUNT}:assumed-role/{self.role_name}/AWSCloudFormation"


@pytest.fixture(scope="module")
def lab(local_cloud: Any) -> Installed:
    """A lab installed as ``reslab install`` does: its generated CloudFormation role."""
    n = unique_prefix("r").replace("-", "")
    name, prefix, workshop = f"c{n}", f"C{n}", f"reslab cfn role {n}"
    event = validate_event(local_event(name, {"stack_prefix": prefix, "workshop": workshop}))
    install(local_cloud.client, name, event)
    cfn = local_cloud.client("cloudformation", REGION)
    role_name = cfn.describe_stack_resource(StackName=name, LogicalResourceId="CloudFormationRole")[
        "StackResourceDetail"
    ]["PhysicalResourceId"]
    role_arn = local_cloud.client("iam").get_role(RoleName=role_name)["Role"]["Arn"]
    return Installed(local_cloud, prefix, workshop, role_name, role_arn)


def _failed_events(cfn: Any, stack: str) -> list[dict[str, Any]]:
    events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    return [e for e in events if e["ResourceStatus"].endswith("_FAILED")]


def _handler_message(
    principal: str, action: str, resource: str, service: str, status: int = 403
) -> re.Pattern[str]:
    """The handler's AccessDenied as AWS words it (the service's own message and status: KMS,
    a JSON service, answers 400)."""
    return re.compile(
        rf'^Resource handler returned message: "(?:You are not authorized to perform this '
        rf"operation\. )?User: {re.escape(principal)} is not authorized to perform: "
        rf"{re.escape(action)} on resource: {re.escape(resource)} because no identity-based "
        rf"policy allows the {re.escape(action)} action.* \(Service: {service}, Status Code: "
        rf'{status}, Request ID: {REQUEST_ID}\)" \(RequestToken: {REQUEST_ID}, HandlerErrorCode: '
        r"AccessDenied\)$",
        re.DOTALL,
    )


@contextlib.contextmanager
def _without_statement(lab: Installed, matches: Any) -> Iterator[dict[str, Any]]:
    """The installed role with one statement of its managed policies removed (a new default
    version, as an administrator would make it), restored afterwards."""
    iam = lab.client("iam")
    for attached in iam.list_attached_role_policies(RoleName=lab.role_name)["AttachedPolicies"]:
        arn = attached["PolicyArn"]
        old = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=arn, VersionId=old)["PolicyVersion"]["Document"]
        kept = [s for s in document["Statement"] if not matches(s)]
        if len(kept) == len(document["Statement"]):
            continue
        assert len(kept) == len(document["Statement"]) - 1
        removed = next(s for s in document["Statement"] if matches(s))
        new = iam.create_policy_version(
            PolicyArn=arn,
            PolicyDocument=json.dumps({**document, "Statement": kept}),
            SetAsDefault=True,
        )["PolicyVersion"]["VersionId"]
        try:
            yield removed
        finally:
            iam.set_default_policy_version(PolicyArn=arn, VersionId=old)
            iam.delete_policy_version(PolicyArn=arn, VersionId=new)
        return
    raise AssertionError("no statement of the role matches")


def test_the_lab_storage_stack_creates_and_deletes_with_the_generated_role(lab: Installed) -> None:
    cfn, stack = lab.client("cloudformation"), f"{lab.prefix}Storage"
    cfn.create_stack(
        StackName=stack,
        TemplateBody=(ROOT / "cloudformation" / "storage.yaml").read_text(),
        Parameters=[{"ParameterKey": "Workshop", "ParameterValue": lab.workshop}],
        Tags=[{"Key": "workshop", "Value": lab.workshop}],
        RoleARN=lab.role_arn,
    )
    assert wait_for_stack(cfn, stack)["StackStatus"] == "CREATE_COMPLETE"
    buckets = {b["Name"] for b in lab.client("s3").list_buckets()["Buckets"]}
    ours = {b for b in buckets if b.startswith(stack.lower())}
    assert len(ours) == 2
    acted = [
        e
        for e in lab.cloud.access_log.entries()
        if e.principal == lab.session() and e.operation == "cloudformation.create AWS::S3::Bucket"
    ]
    print(
        cfn.describe_stacks(StackName=stack)["Stacks"][0].get("RoleARN"),
        [
            (e.principal, e.action, e.resource)
            for e in lab.cloud.access_log.entries()
            if "cloudformation." in (e.operation or "")
        ][-12:],
    )
    assert {(e.action, e.allowed) for e in acted} >= {("s3:CreateBucket", True)}

    cfn.delete_stack(StackName=stack)
    gone = {b["Name"] for b in lab.client("s3").list_buckets()["Buckets"]}
    assert not ours & gone
    deleted = [
        e
        for e in lab.cloud.access_log.entries()
        if e.principal == lab.session() and e.action == "s3:DeleteBucket"
    ]
    assert {e.resource for e in deleted} == {f"arn:aws:s3:::{b}" for b in ours}


def _key_and_alias(lab: Installed, alias: str) -> str:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    return json.dumps(
        {
            "Resources": {
                "Key": {
                    "Type": "AWS::KMS::Key",
                    "Properties": {
                        "KeyPolicy": policy,
                        "Tags": [{"Key": "workshop", "Value": lab.workshop}],
                    },
                },
                "KeyAlias": {
                    "Type": "AWS::KMS::Alias",
                    "Properties": {"AliasName": alias, "TargetKeyId": {"Ref": "Key"}},
                },
            }
        }
    )


def test_a_statement_removed_from_the_role_fails_the_resource_as_aws_words_it_and_rolls_back(
    lab: Installed,
) -> None:
    cfn, stack = lab.client("cloudformation"), f"{lab.prefix}Keys"
    alias = f"alias/{lab.prefix}-test"
    kms = lab.client("kms")
    keys_before = {k["KeyId"] for k in kms.list_keys()["Keys"]}

    def alias_statement(statement: dict[str, Any]) -> bool:
        return any(":alias/" in r for r in statement["Resource"])

    with _without_statement(lab, alias_statement) as removed:
        assert sorted(removed["Action"]) == ["kms:CreateAlias", "kms:DeleteAlias"]
        cfn.create_stack(
            StackName=stack,
            TemplateBody=_key_and_alias(lab, alias),
            Tags=[{"Key": "workshop", "Value": lab.workshop}],
            RoleARN=lab.role_arn,
        )
        described = wait_for_stack(cfn, stack)

    assert described["StackStatus"] == "ROLLBACK_COMPLETE"
    assert (
        described["StackStatusReason"] == "The following resource(s) failed to create: [KeyAlias]."
    )
    [failed] = _failed_events(cfn, stack)
    assert failed["LogicalResourceId"] == "KeyAlias"
    assert failed["ResourceStatus"] == "CREATE_FAILED"
    resource = f"arn:aws:kms:{REGION}:{ACCOUNT}:{alias}"
    assert _handler_message(lab.session(), "kms:CreateAlias", resource, "Kms", 400).match(
        failed["ResourceStatusReason"]
    ), failed["ResourceStatusReason"]
    # the rollback deleted the key it had created, acting with the role
    assert {k["KeyId"] for k in kms.list_keys()["Keys"]} == keys_before
    rolled_back = [
        e
        for e in lab.cloud.access_log.entries()
        if e.principal == lab.session() and e.action == "kms:ScheduleKeyDeletion"
    ]
    assert [e.allowed for e in rolled_back] == [True]
    assert alias not in {a["AliasName"] for a in kms.list_aliases()["Aliases"]}


def _vpc(tags: list[dict[str, str]] | None) -> str:
    properties: dict[str, Any] = {"CidrBlock": "10.71.0.0/16"}
    if tags:
        properties["Tags"] = tags
    return json.dumps({"Resources": {"Vpc": {"Type": "AWS::EC2::VPC", "Properties": properties}}})


def _vpcs_of(lab: Installed, stack: str) -> list[str]:
    found = lab.client("ec2").describe_vpcs(
        Filters=[{"Name": "tag:aws:cloudformation:stack-name", "Values": [stack]}]
    )["Vpcs"]
    return [v["VpcId"] for v in found]


def test_a_resource_without_the_workshop_tag_is_refused_by_the_roles_request_tag_condition(
    lab: Installed,
) -> None:
    cfn, stack = lab.client("cloudformation"), f"{lab.prefix}Untagged"
    cfn.create_stack(StackName=stack, TemplateBody=_vpc(None), RoleARN=lab.role_arn)

    described = wait_for_stack(cfn, stack)
    assert described["StackStatus"] == "ROLLBACK_COMPLETE"
    [failed] = _failed_events(cfn, stack)
    assert failed["LogicalResourceId"] == "Vpc"
    resource = f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/*"
    assert _handler_message(lab.session(), "ec2:CreateVpc", resource, "Ec2").match(
        failed["ResourceStatusReason"]
    ), failed["ResourceStatusReason"]
    assert _vpcs_of(lab, stack) == []


def test_a_tagged_resource_is_created_and_a_denied_delete_fails_as_aws_words_it(
    lab: Installed,
) -> None:
    cfn, stack = lab.client("cloudformation"), f"{lab.prefix}Tagged"
    tags = [{"Key": "workshop", "Value": lab.workshop}]
    cfn.create_stack(StackName=stack, TemplateBody=_vpc(tags), RoleARN=lab.role_arn)
    assert wait_for_stack(cfn, stack)["StackStatus"] == "CREATE_COMPLETE"
    [vpc] = _vpcs_of(lab, stack)

    iam = lab.client("iam")
    deny = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "ec2:DeleteVpc", "Resource": "*"}],
    }
    iam.put_role_policy(
        RoleName=lab.role_name, PolicyName="NoVpcDelete", PolicyDocument=json.dumps(deny)
    )
    try:
        cfn.delete_stack(StackName=stack)
        described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    finally:
        iam.delete_role_policy(RoleName=lab.role_name, PolicyName="NoVpcDelete")
    assert described["StackStatus"] == "DELETE_FAILED"
    assert described["StackStatusReason"] == "The following resource(s) failed to delete: [Vpc]. "
    failed = [e for e in _failed_events(cfn, stack) if e["LogicalResourceId"] == "Vpc"]
    reason = failed[0]["ResourceStatusReason"]
    assert failed[0]["ResourceStatus"] == "DELETE_FAILED"
    assert (
        f"User: {lab.session()} is not authorized to perform: ec2:DeleteVpc on resource: "
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/{vpc} with an explicit deny in an identity-based "
        "policy"
    ) in reason
    assert reason.endswith("HandlerErrorCode: AccessDenied)")
    assert _vpcs_of(lab, stack) == [vpc]

    cfn.delete_stack(StackName=stack)  # the deny is gone: the role may delete it
    assert _vpcs_of(lab, stack) == []


def test_a_stack_without_a_role_acts_with_the_caller(lab: Installed) -> None:
    iam = lab.client("iam")
    user = unique_prefix("cfncaller")
    iam.create_user(UserName=user)
    may_only_use_cloudformation = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "cloudformation:CreateStack",
                    "cloudformation:DescribeStacks",
                    "cloudformation:DescribeStackEvents",
                ],
                "Resource": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{lab.prefix}*",
            }
        ],
    }
    iam.put_user_policy(
        UserName=user, PolicyName="cfn", PolicyDocument=json.dumps(may_only_use_cloudformation)
    )
    key = iam.create_access_key(UserName=user)["AccessKey"]
    as_user = boto3.client(
        "cloudformation",
        region_name=REGION,
        endpoint_url=lab.cloud.endpoint_url,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    tags = [{"Key": "workshop", "Value": lab.workshop}]
    stack = f"{lab.prefix}ByUser"
    as_user.create_stack(StackName=stack, TemplateBody=_vpc(tags))

    assert wait_for_stack(as_user, stack)["StackStatus"] == "ROLLBACK_COMPLETE"
    [failed] = _failed_events(as_user, stack)
    user_arn = f"arn:aws:iam::{ACCOUNT}:user/{user}"
    resource = f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/*"
    assert _handler_message(user_arn, "ec2:CreateVpc", resource, "Ec2").match(
        failed["ResourceStatusReason"]
    ), failed["ResourceStatusReason"]

    # the same template as the account's root user (the tests' keys): no policy applies to it
    cfn, by_root = lab.client("cloudformation"), f"{lab.prefix}ByRoot"
    cfn.create_stack(StackName=by_root, TemplateBody=_vpc(tags))
    assert wait_for_stack(cfn, by_root)["StackStatus"] == "CREATE_COMPLETE"
    cfn.delete_stack(StackName=by_root)
    assert _vpcs_of(lab, by_root) == []


def test_a_role_cloudformation_cannot_assume_is_refused_before_anything_is_created(
    lab: Installed,
) -> None:
    iam = lab.client("iam")
    trusts_lambda = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    name = unique_prefix("notcfn")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trusts_lambda))[
        "Role"
    ]["Arn"]
    cfn, stack = lab.client("cloudformation"), f"{lab.prefix}BadRole"
    with pytest.raises(cfn.exceptions.ClientError) as refused:
        cfn.create_stack(StackName=stack, TemplateBody=_vpc(None), RoleARN=arn)
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert (
        refused.value.response["Error"]["Message"] == f"Role {arn} is invalid or cannot be assumed"
    )
    assert stack not in {s["StackName"] for s in cfn.list_stacks()["StackSummaries"]}


def _launch_template(user_data: str, workshop: str) -> str:
    data = {"UserData": {"Fn::Base64": user_data}, "InstanceType": "t3.micro"}
    tags = [{"Key": "workshop", "Value": workshop}]
    template = {
        "Parameters": {"Data": {"Type": "String", "Default": user_data}},
        "Resources": {
            "Template": {
                "Type": "AWS::EC2::LaunchTemplate",
                "Properties": {
                    "LaunchTemplateData": {**data, "UserData": {"Fn::Base64": {"Ref": "Data"}}},
                    "TagSpecifications": [{"ResourceType": "launch-template", "Tags": tags}],
                },
            }
        },
    }
    return json.dumps(template)


def test_an_update_of_a_launch_template_is_authorized_with_the_stacks_role(
    lab: Installed,
) -> None:
    """``reslab mode`` updates the web stack's launch template (a new version) with the stack's
    role: the generated role may (``UPDATED_TYPES``); without that grant the update fails the
    resource in AWS's words and rolls back to the previous parameters."""
    cfn, stack = lab.client("cloudformation"), f"{lab.prefix}Launch"
    tags = [{"Key": "workshop", "Value": lab.workshop}]
    body = _launch_template("fragile", lab.workshop)
    cfn.create_stack(StackName=stack, TemplateBody=body, RoleARN=lab.role_arn, Tags=tags)
    assert wait_for_stack(cfn, stack)["StackStatus"] == "CREATE_COMPLETE"

    def switch(to: str) -> dict[str, Any]:
        cfn.update_stack(
            StackName=stack,
            UsePreviousTemplate=True,
            Parameters=[{"ParameterKey": "Data", "ParameterValue": to}],
        )
        return wait_for_stack(cfn, stack)

    def creates_versions(statement: dict[str, Any]) -> bool:
        actions = statement.get("Action", [])
        return "ec2:CreateLaunchTemplateVersion" in (
            actions if isinstance(actions, list) else [actions]
        )

    try:
        with _without_statement(lab, creates_versions):
            denied = switch("resilient")
        assert denied["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
        assert denied["Parameters"] == [{"ParameterKey": "Data", "ParameterValue": "fragile"}]
        failed = [e for e in _failed_events(cfn, stack) if e["LogicalResourceId"] == "Template"]
        assert failed[0]["ResourceStatus"] == "UPDATE_FAILED"
        reason = failed[0]["ResourceStatusReason"]
        assert f"User: {lab.session()} is not authorized to perform: " in reason
        assert "ec2:CreateLaunchTemplateVersion on resource: " in reason
        assert reason.endswith("HandlerErrorCode: AccessDenied)")

        allowed = switch("resilient")
        assert allowed["StackStatus"] == "UPDATE_COMPLETE"
        assert allowed["Parameters"] == [{"ParameterKey": "Data", "ParameterValue": "resilient"}]
    finally:
        cfn.delete_stack(StackName=stack)
