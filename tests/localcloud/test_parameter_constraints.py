"""Gap 11b: the local cloud's CloudFormation refuses parameter values the template's constraints
refuse, with AWS's ValidationError naming the parameter, before anything is created."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reslab import REPO_ROOT
from reslab.localcloud.compat.cloudformation.parameter_constraints import (
    parameter_problem,
    template_problem,
)
from reslab.localcloud.testing import unique_prefix, wait_for_stack
from reslab.templates import load_template

TEMPLATE = json.dumps(
    {
        "Parameters": {
            "Prefix": {"Type": "String", "AllowedPattern": "[A-Za-z][A-Za-z0-9-]{0,39}"},
            "Anchored": {"Type": "String", "Default": "ok", "AllowedPattern": "^[a-z]+$"},
            "Engine": {
                "Type": "String",
                "Default": "postgres",
                "AllowedValues": ["postgres", "mysql"],
            },
            "Tag": {"Type": "String", "Default": "t", "MinLength": 1, "MaxLength": 5},
            "Port": {"Type": "Number", "Default": 5432, "MinValue": 1, "MaxValue": 65535},
            "Names": {"Type": "CommaDelimitedList", "Default": "a,b", "AllowedPattern": "[a-z]+"},
            "Described": {
                "Type": "String",
                "Default": "yes",
                "AllowedValues": ["yes", "no"],
                "ConstraintDescription": "yes or no",
            },
        },
        "Resources": {"B": {"Type": "AWS::S3::Bucket"}},
    }
)

REFUSED = [
    (
        {"Prefix": "Resiliency\n"},
        "Parameter 'Prefix' must match pattern [A-Za-z][A-Za-z0-9-]{0,39}",
    ),
    ({"Prefix": "9lives"}, "Parameter 'Prefix' must match pattern [A-Za-z][A-Za-z0-9-]{0,39}"),
    ({"Prefix": "P", "Anchored": "abc\n"}, "Parameter 'Anchored' must match pattern ^[a-z]+$"),
    ({"Prefix": "P", "Engine": "oracle"}, "Parameter 'Engine' must be one of AllowedValues"),
    ({"Prefix": "P", "Tag": ""}, "Parameter 'Tag' must contain at least 1 characters"),
    ({"Prefix": "P", "Tag": "toolong"}, "Parameter 'Tag' must contain at most 5 characters"),
    ({"Prefix": "P", "Port": "0"}, "Parameter 'Port' must be a number not less than 1"),
    ({"Prefix": "P", "Port": "70000"}, "Parameter 'Port' must be a number not greater than 65535"),
    ({"Prefix": "P", "Port": "http"}, "Parameter 'Port' must be a number"),
    ({"Prefix": "P", "Names": "a,B"}, "Parameter 'Names' must match pattern [a-z]+"),
    (
        {"Prefix": "P", "Described": "maybe"},
        "Parameter Described failed to satisfy constraint: yes or no",
    ),
]


def _parameters(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


def _stack_names(cfn: Any) -> set[str]:
    pages = cfn.get_paginator("list_stacks").paginate()
    return {s["StackName"] for page in pages for s in page["StackSummaries"]}


@pytest.mark.parametrize(("values", "message"), REFUSED, ids=[m for _, m in REFUSED])
def test_create_stack_refuses_with_the_parameter_named(
    local_cloud: Any, values: dict[str, str], message: str
) -> None:
    cfn = local_cloud.client("cloudformation", "us-east-2")
    name = unique_prefix("constraint")
    with pytest.raises(ClientError) as info:
        cfn.create_stack(StackName=name, TemplateBody=TEMPLATE, Parameters=_parameters(values))
    error = info.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("ValidationError", message)
    assert name not in _stack_names(cfn)


def test_change_set_refused_leaves_no_stack_in_review(local_cloud: Any) -> None:
    cfn = local_cloud.client("cloudformation", "us-east-2")
    name = unique_prefix("constraint")
    with pytest.raises(ClientError, match="Parameter 'Engine' must be one of AllowedValues"):
        cfn.create_change_set(
            StackName=name,
            ChangeSetName="c1",
            ChangeSetType="CREATE",
            TemplateBody=TEMPLATE,
            Parameters=_parameters({"Prefix": "P", "Engine": "oracle"}),
        )
    assert name not in _stack_names(cfn)


def test_update_refused_keeps_the_stack_as_it_was(local_cloud: Any) -> None:
    cfn = local_cloud.client("cloudformation", "us-east-2")
    name = unique_prefix("constraint")
    cfn.create_stack(StackName=name, TemplateBody=TEMPLATE, Parameters=_parameters({"Prefix": "P"}))
    wait_for_stack(cfn, name)
    with pytest.raises(ClientError, match="Parameter 'Port' must be a number not less than 1"):
        cfn.update_stack(
            StackName=name,
            TemplateBody=TEMPLATE,
            Parameters=[
                {"ParameterKey": "Prefix", "UsePreviousValue": True},
                {"ParameterKey": "Port", "ParameterValue": "0"},
            ],
        )
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    params = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert params["Port"] == "5432"
    cfn.delete_stack(StackName=name)


def test_values_within_every_constraint_create_the_stack(local_cloud: Any) -> None:
    cfn = local_cloud.client("cloudformation", "us-east-2")
    name = unique_prefix("constraint")
    values = {"Prefix": "Resiliency", "Engine": "mysql", "Tag": "abcde", "Port": "1", "Names": ""}
    cfn.create_stack(StackName=name, TemplateBody=TEMPLATE, Parameters=_parameters(values))
    assert wait_for_stack(cfn, name)["StackStatus"] == "CREATE_COMPLETE"
    cfn.delete_stack(StackName=name)


def test_aws_typed_and_ssm_parameters_are_not_pattern_checked() -> None:
    ssm = {"Type": "AWS::SSM::Parameter::Value<String>", "AllowedPattern": "x"}
    assert parameter_problem("Image", ssm, "/aws/service/ami") is None
    subnets = {"Type": "List<AWS::EC2::Subnet::Id>", "AllowedPattern": "subnet-[0-9a-f]+"}
    assert parameter_problem("Subnets", subnets, "subnet-1a,subnet-2b") is None
    assert parameter_problem("Subnets", subnets, "subnet-1a,vpc-2") == (
        "Parameter 'Subnets' must match pattern subnet-[0-9a-f]+"
    )


ISSUE_12 = [
    # (template, parameters, AWS's message): the issue's mutated events, had they got past the
    # validator, now stop at CreateStack in the local cloud as on AWS.
    (
        "web.yaml",
        {"Workshop": "w", "WebsiteImageURL": "https://x.example/a'b.png"},
        "Parameter 'WebsiteImageURL' must match pattern (https?://[^'\"\\s\\\\]+)?",
    ),
    ("web.yaml", {"Workshop": "w", "BootObject": "b" * 300}, "Parameter 'BootObject' must contain"),
    ("vpc.yaml", {"Workshop": "lab\n"}, "Parameter 'Workshop' must match pattern"),
    ("database.yaml", {"Workshop": "w", "Engine": "oracle"}, "Parameter 'Engine' must be one of"),
]


@pytest.mark.parametrize(("template", "values", "message"), ISSUE_12)
def test_lab_templates_refuse_the_issues_values_before_creating_anything(
    local_cloud: Any, template: str, values: dict[str, str], message: str
) -> None:
    cfn = local_cloud.client("cloudformation", "us-east-2")
    name = unique_prefix("constraint")
    body = (REPO_ROOT / "cloudformation" / template).read_text()
    with pytest.raises(ClientError) as info:
        cfn.create_stack(
            StackName=name,
            TemplateBody=body,
            Parameters=_parameters(values),
            Capabilities=["CAPABILITY_IAM"],
        )
    assert info.value.response["Error"]["Code"] == "ValidationError"
    assert info.value.response["Error"]["Message"].startswith(message)
    assert name not in _stack_names(cfn)


def test_the_installer_refuses_a_stack_prefix_with_a_newline() -> None:
    problem = template_problem(load_template("installer.yaml"), {"StackPrefix": "Resiliency\n"})
    assert problem == "Parameter 'StackPrefix' must match pattern [A-Za-z][A-Za-z0-9-]{0,39}"


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "cloudformation").glob("*.yaml")))
def test_the_parameters_section_read_alone_is_the_templates(path: Any) -> None:
    """The checker reads only a YAML template's Parameters section (fast); it must be what the
    whole template says."""
    from reslab.localcloud.compat.cloudformation.parameter_constraints import _parameters
    from reslab.templates import loads_template

    text = path.read_text()
    assert _parameters(text) == loads_template(text)["Parameters"]
