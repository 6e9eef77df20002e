"""The authorizer against moto's real backends (in-process ``mock_aws``): resources made through
boto3, then requests authorized for roles made the same way, as the local cloud will."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from reslab.iam.context import Environment, authorize
from reslab.iam.denials import denial
from reslab.iam.evaluate import Principal, Reason
from reslab.iam.motostate import MotoState
from reslab.iam.state import Where

ACCOUNT = "123456789012"
REGION = "us-east-2"
WHERE = Where(ACCOUNT, REGION)
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


@pytest.fixture
def aws() -> Iterator[Any]:
    with mock_aws():
        yield lambda service: boto3.client(
            service,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's fake credentials
        )


def role(
    aws: Any, name: str, statements: list[dict[str, Any]], boundary: str | None = None
) -> Principal:
    iam = aws("iam")
    kwargs = {"PermissionsBoundary": boundary} if boundary else {}
    arn = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST),
        Tags=[{"Key": "workshop", "Value": "w1"}],
        **kwargs,
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=name,
        PolicyName="least-privilege",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    return Principal.session(arn, name)


def decide(service: str, operation: str, params: dict[str, Any], who: Principal) -> Any:
    return authorize(service, operation, params, who, Environment(WHERE, MotoState(WHERE)))


def test_backup_cleanup_deletes_only_what_is_tagged_temporary(aws: Any) -> None:
    rds = aws("rds")
    rds.create_db_instance(
        DBInstanceIdentifier="lab-db",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="u",
        MasterUserPassword="p4ssw0rd!!",
        AllocatedStorage=20,
    )
    rds.create_db_snapshot(
        DBInstanceIdentifier="lab-db",
        DBSnapshotIdentifier="temp",
        Tags=[{"Key": "reslab:temporary", "Value": "true"}],
    )
    rds.create_db_snapshot(DBInstanceIdentifier="lab-db", DBSnapshotIdentifier="keep")
    cleanup = role(
        aws,
        "lab-BackupCleanupRole",
        [
            {
                "Effect": "Allow",
                "Action": ["rds:DeleteDBInstance", "rds:DeleteDBSnapshot"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:ResourceTag/reslab:temporary": "true"}},
            }
        ],
    )
    assert decide("rds", "DeleteDBSnapshot", {"DBSnapshotIdentifier": "temp"}, cleanup).allowed
    outcome = decide("rds", "DeleteDBSnapshot", {"DBSnapshotIdentifier": "keep"}, cleanup)
    assert not outcome.allowed
    built, decision = outcome.denied
    assert built.request.resource == f"arn:aws:rds:{REGION}:{ACCOUNT}:snapshot:keep"
    assert decision.reason is Reason.NO_IDENTITY_ALLOW
    error = denial("rds", built.request, decision)
    assert (error.code, error.status) == ("AccessDenied", 403)
    assert error.message == (
        f"User: {cleanup.arn} is not authorized to perform: rds:DeleteDBSnapshot on resource: "
        f"arn:aws:rds:{REGION}:{ACCOUNT}:snapshot:keep because no identity-based policy allows "
        "the rds:DeleteDBSnapshot action"
    )
    # the service-specific alias of the resource tag works as well
    alias = role(
        aws,
        "lab-Alias",
        [
            {
                "Effect": "Allow",
                "Action": "rds:DeleteDBSnapshot",
                "Resource": "*",
                "Condition": {"StringEquals": {"rds:snapshot-tag/reslab:temporary": "true"}},
            }
        ],
    )
    assert decide("rds", "DeleteDBSnapshot", {"DBSnapshotIdentifier": "temp"}, alias).allowed


def test_secret_under_a_customer_key_needs_decrypt_through_secrets_manager(aws: Any) -> None:
    kms = aws("kms")
    key_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "UseThroughSecretsManagerOnly",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": ["kms:Decrypt", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:CallerAccount": ACCOUNT,
                        "kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com",
                    }
                },
            }
        ],
    }
    key = kms.create_key(Policy=json.dumps(key_policy))["KeyMetadata"]
    secret = aws("secretsmanager").create_secret(
        Name="lab-db-secret", SecretString="{}", KmsKeyId=key["KeyId"]
    )
    reader = role(
        aws,
        "lab-Web",
        [
            {
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": secret["ARN"],
            },
        ],
    )
    outcome = decide("secretsmanager", "GetSecretValue", {"SecretId": "lab-db-secret"}, reader)
    assert not outcome.allowed  # no kms:Decrypt in the role's policy
    built, decision = outcome.denied
    assert (built.request.action, built.request.resource) == ("kms:Decrypt", key["Arn"])
    assert built.request.context["kms:viaservice"] == (f"secretsmanager.{REGION}.amazonaws.com",)
    assert built.request.context["kms:encryptioncontext:secretarn"] == (secret["ARN"],)
    assert decision.reason is Reason.NO_IDENTITY_ALLOW

    decrypting = role(
        aws,
        "lab-Web2",
        [
            {
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": secret["ARN"],
            },
            {
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": key["Arn"],
                "Condition": {"StringEquals": {"kms:EncryptionContext:SecretARN": secret["ARN"]}},
            },
            {"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": key["Arn"]},
        ],
    )
    assert decide(
        "secretsmanager", "GetSecretValue", {"SecretId": secret["ARN"]}, decrypting
    ).allowed
    # the key policy has the last word: IAM allows DescribeKey, the key policy only through
    # Secrets Manager
    direct = decide("kms", "DescribeKey", {"KeyId": key["KeyId"]}, decrypting)
    assert direct.denied[1].reason is Reason.NO_RESOURCE_ALLOW


def test_securestring_under_a_customer_key_needs_decrypt_through_ssm(aws: Any) -> None:
    """Found by the lifecycle proof: the parameter's key was never looked up (SSM's decryption
    with the caller's identity went unauthorized)."""
    key = aws("kms").create_key()["KeyMetadata"]
    aws("ssm").put_parameter(
        Name="/lab/slack", Value="https://x", Type="SecureString", KeyId=key["KeyId"]
    )
    read = {
        "Effect": "Allow",
        "Action": "ssm:GetParameter",
        "Resource": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/lab/*",
    }
    reader = role(aws, "ssm-reader", [read])
    params = {"Name": "/lab/slack", "WithDecryption": True}
    outcome = decide("ssm", "GetParameter", params, reader)
    assert not outcome.allowed
    built, _ = outcome.denied
    assert (built.request.action, built.request.resource) == ("kms:Decrypt", key["Arn"])
    decrypt = {
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": key["Arn"],
        "Condition": {"StringEquals": {"kms:ViaService": f"ssm.{REGION}.amazonaws.com"}},
    }
    assert decide("ssm", "GetParameter", params, role(aws, "ssm-both", [read, decrypt])).allowed


def test_create_stack_with_its_service_role(aws: Any) -> None:
    cfn_role = aws("iam").create_role(
        RoleName="lab-CloudFormationRole", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST)
    )["Role"]["Arn"]
    creator = role(
        aws,
        "lab-CreateStackRole",
        [
            {
                "Effect": "Allow",
                "Action": "cloudformation:CreateStack",
                "Resource": f"arn:aws:cloudformation:*:{ACCOUNT}:stack/lab*/*",
            },
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::tb/cloudformation/*",
            },
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": cfn_role,
                "Condition": {
                    "StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}
                },
            },
        ],
    )
    params = {
        "StackName": "lab-VPC",
        "TemplateURL": "https://tb.s3.amazonaws.com/cloudformation/vpc.yaml",
        "RoleARN": cfn_role,
    }
    assert decide("cloudformation", "CreateStack", params, creator).allowed
    other = decide("cloudformation", "CreateStack", {**params, "StackName": "other-VPC"}, creator)
    assert not other.allowed


def test_boundary_and_role_tags_come_from_iam(aws: Any) -> None:
    iam = aws("iam")
    boundary = iam.create_policy(
        PolicyName="lab-boundary",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            }
        ),
    )["Policy"]["Arn"]
    who = role(aws, "lab-Bounded", [{"Effect": "Allow", "Action": "*", "Resource": "*"}], boundary)
    policies = MotoState(WHERE).principal_policies(who)
    assert policies.boundary is not None and policies.tags == {"workshop": "w1"}
    assert decide("s3", "ListBuckets", {}, who).allowed
    refused = decide("rds", "DescribeDBInstances", {}, who)
    assert refused.denied[1].reason is Reason.NO_BOUNDARY_ALLOW
    # PutRolePolicy sees the boundary of the role it changes (iam:PermissionsBoundary)
    admin = role(
        aws,
        "lab-Admin",
        [
            {
                "Effect": "Allow",
                "Action": "iam:PutRolePolicy",
                "Resource": "*",
                "Condition": {"StringEquals": {"iam:PermissionsBoundary": boundary}},
            }
        ],
    )
    assert decide("iam", "PutRolePolicy", {"RoleName": "lab-Bounded"}, admin).allowed
    assert not decide("iam", "PutRolePolicy", {"RoleName": "lab-Admin"}, admin).allowed


def test_tls_only_bucket_policy_and_lookups(aws: Any) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="lab-reports", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_policy(
        Bucket="lab-reports",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": ["arn:aws:s3:::lab-reports", "arn:aws:s3:::lab-reports/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            }
        ),
    )
    writer = role(
        aws,
        "lab-Checks",
        [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::lab-reports/*"}],
    )
    params = {"Bucket": "lab-reports", "Key": "r/1.json"}
    state = MotoState(WHERE)
    assert authorize("s3", "PutObject", params, writer, Environment(WHERE, state)).allowed
    plain_http = Environment(WHERE, state, secure_transport=False)
    outcome = authorize("s3", "PutObject", params, writer, plain_http)
    assert outcome.denied[1].reason is Reason.DENY_RESOURCE
    # the resolvers the table names
    assert (
        state.lookup("role_arn", "lab-Checks", WHERE) == f"arn:aws:iam::{ACCOUNT}:role/lab-Checks"
    )
    # a stack that does not exist (yet): its name with any id, as AWS authorizes it
    assert state.lookup("stack_arn", "no-such-stack", WHERE) == (
        f"arn:aws:cloudformation:{WHERE.region}:{ACCOUNT}:stack/no-such-stack/*"
    )
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    stack_id = aws("cloudformation").create_stack(
        StackName="lab-Storage", TemplateBody=json.dumps(template)
    )["StackId"]
    assert state.lookup("stack_arn", "lab-Storage", WHERE) == stack_id
    assert state.lookup("secret_arn", "no-such-secret", WHERE) is None


def test_tags_of_existing_resources(aws: Any) -> None:
    state = MotoState(WHERE)
    machine = aws("stepfunctions").create_state_machine(
        name="lab-restore",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/lab-RestoreMachineRole",
        tags=[{"key": "workshop", "value": "w1"}],
    )["stateMachineArn"]
    assert state.tags(machine) == {"workshop": "w1"}
    secret = aws("secretsmanager").create_secret(
        Name="lab-s", SecretString="{}", Tags=[{"Key": "workshop", "Value": "w1"}]
    )["ARN"]
    assert state.tags(secret) == {"workshop": "w1"}
    vpc = aws("ec2").create_vpc(
        CidrBlock="10.0.0.0/16",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "workshop", "Value": "w1"}]}],
    )["Vpc"]["VpcId"]
    assert state.tags(f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/{vpc}") == {"workshop": "w1"}
    assert state.tags(f"arn:aws:rds:{REGION}:{ACCOUNT}:db:no-such-db") is None


def test_a_session_of_a_role_that_does_not_exist_is_denied_by_name(aws: Any) -> None:
    gone = Principal.session(f"arn:aws:iam::{ACCOUNT}:role/ReslabFleetTrainer", "trainer")
    outcome = decide("cloudformation", "DescribeStacks", {}, gone)
    assert not outcome.allowed
    built, decision = outcome.denied
    assert decision.reason is Reason.NO_IDENTITY_ALLOW
    error = denial("cloudformation", built.request, decision)
    assert (error.code, error.status) == ("AccessDenied", 403)
    assert error.message.startswith(f"User: {gone.arn} is not authorized to perform: ")


def test_a_restore_without_a_subnet_group_is_authorized_on_the_snapshots_group(aws: Any) -> None:
    """moto's ``DBInstance.db_subnet_group_name`` is write-only (reading it raises
    NotImplementedError): the lookup crashed every RestoreDBInstanceFromDBSnapshot that named no
    DBSubnetGroupName (HTTP 500 in the local cloud)."""
    ec2, rds = aws("ec2"), aws("rds")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{z}")
        for i, z in enumerate("ab")
    ]
    rds.create_db_subnet_group(
        DBSubnetGroupName="lab-subnets",
        DBSubnetGroupDescription="lab",
        SubnetIds=[s["Subnet"]["SubnetId"] for s in subnets],
    )
    rds.create_db_instance(
        DBInstanceIdentifier="lab-db",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="u",
        MasterUserPassword="p4ssw0rd!!",
        AllocatedStorage=20,
        DBSubnetGroupName="lab-subnets",
    )
    rds.create_db_snapshot(DBInstanceIdentifier="lab-db", DBSnapshotIdentifier="final")
    restorer = role(
        aws,
        "lab-Restorer",
        [{"Effect": "Allow", "Action": "rds:RestoreDBInstanceFromDBSnapshot", "Resource": "*"}],
    )
    params = {"DBInstanceIdentifier": "copy", "DBSnapshotIdentifier": "final"}
    outcome = decide("rds", "RestoreDBInstanceFromDBSnapshot", params, restorer)
    assert outcome.allowed
    resources = {built.request.resource for built, _ in outcome.decisions}
    assert f"arn:aws:rds:{REGION}:{ACCOUNT}:subgrp:lab-subnets" in resources
