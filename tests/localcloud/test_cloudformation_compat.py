"""CloudFormation behaviours the lab relies on: hold, failure, rollback, substitutions."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from reslab.localcloud.clock import typical_seconds
from reslab.localcloud.iam_report import role_documents
from reslab.localcloud.testing import lambda_role, unique_prefix, wait_for_execution, wait_for_stack

BUCKET = json.dumps(
    {"Resources": {"B": {"Type": "AWS::S3::Bucket"}}, "Outputs": {"Name": {"Value": {"Ref": "B"}}}}
)
BAD_SUBNET = json.dumps(
    {
        "Resources": {
            "V": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
            "S": {
                "Type": "AWS::EC2::Subnet",
                "Properties": {"VpcId": {"Ref": "V"}, "CidrBlock": "192.168.0.0/24"},
            },
        }
    }
)


def test_time_scale_holds_create_and_delete_in_progress(local_cloud):
    cfn = local_cloud.client("cloudformation", "us-east-2")
    name = unique_prefix("hold")
    assert typical_seconds(json.loads(BUCKET), "create") == 60
    with local_cloud.scaled_time(120):  # S3: 60 s / 120 = 0.5 s
        cfn.create_stack(StackName=name, TemplateBody=BUCKET)
        held = cfn.describe_stacks(StackName=name)["Stacks"][0]
        assert held["StackStatus"] == "CREATE_IN_PROGRESS"
        assert "Outputs" not in held
        done = wait_for_stack(cfn, name, timeout=10)
        assert done["StackStatus"] == "CREATE_COMPLETE"
        assert done["Outputs"][0]["OutputKey"] == "Name"
        cfn.delete_stack(StackName=name)
        assert cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == (
            "DELETE_IN_PROGRESS"
        )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            cfn.describe_stacks(StackName=name)
        except ClientError as exc:
            assert "does not exist" in str(exc)
            break
        time.sleep(0.1)
    else:
        pytest.fail("the deleted stack never went away")


def test_without_time_scale_stacks_complete_at_once(local_cloud):
    cfn = local_cloud.client("cloudformation", "us-east-2")
    name = unique_prefix("now")
    cfn.create_stack(StackName=name, TemplateBody=BUCKET)
    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    cfn.delete_stack(StackName=name)


def _failed_events(cfn, name: str) -> list[dict]:
    events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    return [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]


def test_a_failing_resource_rolls_the_stack_back(local_cloud):
    cfn = local_cloud.client("cloudformation", "us-east-2")
    name = unique_prefix("bad")
    cfn.create_stack(StackName=name, TemplateBody=BAD_SUBNET)
    stack = wait_for_stack(cfn, name)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    [event] = _failed_events(cfn, name)
    assert event["LogicalResourceId"] == "S"
    assert "192.168.0.0/24" in event["ResourceStatusReason"]
    vpcs = local_cloud.client("ec2", "us-east-2").describe_vpcs()["Vpcs"]
    assert not [v for v in vpcs if any(t["Value"] == name for t in v.get("Tags", []))]
    cfn.delete_stack(StackName=name)


def test_fail_hook_rolls_back_matching_stacks_only(local_cloud):
    cfn = local_cloud.client("cloudformation", "us-east-2")
    prefix = unique_prefix("inj")
    with local_cloud.failing_stacks(f"{prefix}-db*", "Injected: instance quota exceeded"):
        cfn.create_stack(StackName=f"{prefix}-db", TemplateBody=BUCKET)
        cfn.create_stack(StackName=f"{prefix}-web", TemplateBody=BUCKET)
    assert wait_for_stack(cfn, f"{prefix}-db")["StackStatus"] == "ROLLBACK_COMPLETE"
    assert wait_for_stack(cfn, f"{prefix}-web")["StackStatus"] == "CREATE_COMPLETE"
    [event] = _failed_events(cfn, f"{prefix}-db")
    assert event["ResourceStatusReason"] == "Injected: instance quota exceeded"
    for suffix in ("db", "web"):
        cfn.delete_stack(StackName=f"{prefix}-{suffix}")


def test_missing_stack_describe_fails_and_delete_succeeds(local_cloud):
    cfn = local_cloud.client("cloudformation", "us-east-2")
    name = unique_prefix("missing")
    cfn.delete_stack(StackName=name)  # AWS: no error
    with pytest.raises(ClientError) as info:
        cfn.describe_stacks(StackName=name)
    assert info.value.response["Error"]["Code"] == "ValidationError"
    assert f"Stack with id {name} does not exist" in str(info.value)


def test_state_machine_resource_renders_definition_substitutions(local_cloud):
    template = {
        "Resources": {
            "M": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": lambda_role(local_cloud),
                    "DefinitionSubstitutions": {"Greeting": 'say "hi"'},
                    "Definition": {
                        "StartAt": "P",
                        "States": {
                            "P": {"Type": "Pass", "Result": {"msg": "${Greeting}"}, "End": True}
                        },
                    },
                },
            }
        },
        "Outputs": {"Arn": {"Value": {"Ref": "M"}}},
    }
    cfn = local_cloud.client("cloudformation", "us-east-2")
    name = unique_prefix("sm")
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(template))
    arn = wait_for_stack(cfn, name)["Outputs"][0]["OutputValue"]
    sfn = local_cloud.client("stepfunctions", "us-east-2")
    desc = wait_for_execution(sfn, sfn.start_execution(stateMachineArn=arn)["executionArn"])
    assert json.loads(desc["output"]) == {"msg": 'say "hi"'}
    cfn.delete_stack(StackName=name)
    assert arn not in [m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]]


def test_update_keeps_previous_values_including_defaults(local_cloud):
    """Gap 30b: UsePreviousValue on a parameter that took its default (what `reslab mode` does)."""
    cfn = local_cloud.client("cloudformation", "us-east-2")
    name = unique_prefix("prev")
    template = {
        "Parameters": {
            "Passed": {"Type": "String"},
            "Defaulted": {"Type": "String", "Default": "kept"},
            "Mode": {"Type": "String", "Default": "fragile"},
        },
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"Mode": {"Value": {"Ref": "Mode"}}},
    }
    cfn.create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": "Passed", "ParameterValue": "given"}],
    )
    wait_for_stack(cfn, name)
    previous = [{"ParameterKey": k, "UsePreviousValue": True} for k in ("Passed", "Defaulted")]
    cfn.update_stack(
        StackName=name,
        UsePreviousTemplate=True,
        Parameters=[*previous, {"ParameterKey": "Mode", "ParameterValue": "resilient"}],
    )
    stack = wait_for_stack(cfn, name)
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    values = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert values == {"Passed": "given", "Defaulted": "kept", "Mode": "resilient"}
    assert stack["Outputs"][0]["OutputValue"] == "resilient"

    with pytest.raises(ClientError, match="ValidationError.*Nonesuch"):
        cfn.update_stack(
            StackName=name,
            UsePreviousTemplate=True,
            Parameters=[{"ParameterKey": "Nonesuch", "UsePreviousValue": True}],
        )
    cfn.delete_stack(StackName=name)


def test_novalue_list_items_are_removed(local_cloud):
    """Gap 69: ``Fn::If [..., !Ref AWS::NoValue]`` among a role's statements leaves no null."""
    name = unique_prefix("novalue")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    kept = {"Sid": "Kept", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    dropped = {"Sid": "Dropped", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}
    template = {
        "Conditions": {"Never": {"Fn::Equals": ["a", "b"]}},
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": trust,
                    "Policies": [
                        {
                            "PolicyName": "inline",
                            "PolicyDocument": {
                                "Version": "2012-10-17",
                                "Statement": [
                                    kept,
                                    {"Fn::If": ["Never", dropped, {"Ref": "AWS::NoValue"}]},
                                ],
                            },
                        }
                    ],
                },
            }
        },
    }
    cfn = local_cloud.client("cloudformation")
    cfn.create_stack(
        StackName=name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"]
    )
    try:
        assert wait_for_stack(cfn, name)["StackStatus"] == "CREATE_COMPLETE"
        role = cfn.describe_stack_resource(StackName=name, LogicalResourceId="Role")
        physical = role["StackResourceDetail"]["PhysicalResourceId"]
        arn = local_cloud.client("iam").get_role(RoleName=physical)["Role"]["Arn"]
        # as the authorizer reads it (moto keeps a stack role's policy as a dict)
        (document,) = [text for _, text in role_documents()[arn]]
        statements = json.loads(document)["Statement"]
        assert statements == [kept]
    finally:
        cfn.delete_stack(StackName=name)
