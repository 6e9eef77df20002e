"""Tiny stand-in templates (one per stack of the table) so machine tests run in seconds.

Each stub takes ``Workshop`` plus, as parameters, every contract output of the stacks it depends
on, records the values it received in an SSM parameter, and returns its own contract outputs.
The storage stub has a real versioned bucket (teardown must empty it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from reslab.packaging import TEMPLATE_MANIFEST, template_manifest
from reslab_lambda.attach import CHECK_FUNCTIONS_ENV
from reslab_lambda.cfn import CFN_ROLE_ENV, MANIFEST_ENV
from reslab_lambda.event import INSTALLED_PREFIX_ENV
from reslab_lambda.stacks import StackSpec, spec_for, stack_table
from tests.templates.contract import OUTPUTS


def output_value(key: str, name: str) -> str:
    return f"{key}-{name}"


def stub_template(spec: StackSpec) -> str:
    inputs = [name for dep in spec.depends_on for name in sorted(OUTPUTS[dep])]
    parameters: dict[str, Any] = {"Workshop": {"Type": "String"}}
    parameters.update({name: {"Type": "String"} for name in inputs})
    for dep in spec.depends_on:  # a skipped optional dependency passes nothing: the default
        if spec_for(dep).optional:
            parameters.update({name: {"Type": "String", "Default": ""} for name in OUTPUTS[dep]})
    received = {"Fn::Join": [",", [{"Ref": name} for name in ["Workshop", *inputs]]]}
    resources: dict[str, Any] = {
        "Received": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {
                "Name": {"Fn::Sub": "/${AWS::StackName}/received"},
                "Type": "String",
                "Value": received,
            },
        }
    }
    # a template several rows share (vpc.yaml: vpc, secondary_vpc) is one stub: named by the file
    outputs = {
        name: {"Value": output_value(spec.template_file.split(".")[0], name)}
        for name in sorted(OUTPUTS[spec.key])
    }
    if spec.key == "storage":
        resources["WebsiteBucket"] = {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "VersioningConfiguration": {"Status": "Enabled"},
                "Tags": [{"Key": "workshop", "Value": {"Ref": "Workshop"}}],
            },
        }
        outputs["WebsiteBucketName"] = {"Value": {"Ref": "WebsiteBucket"}}
    return json.dumps(
        {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Parameters": parameters,
            "Resources": resources,
            "Outputs": outputs,
        }
    )


def put_stub_templates(s3: Any, event: dict[str, Any]) -> dict[str, bytes]:
    """Put every stub in the event's cfn bucket; returns them by template file name."""
    # a template two rows share (vpc.yaml) gets the stub of its first row
    first = {spec.template_file: spec for spec in reversed(stack_table())}
    stubs = {name: stub_template(spec).encode() for name, spec in first.items()}
    for name, body in stubs.items():
        s3.put_object(Bucket=event["cfn_bucket"], Key=f"{event['folder']}{name}", Body=body)
    return stubs


def _grant_stub_manifest(clients: Callable[..., Any], role_arn: str, bucket: str, key: str) -> None:
    """Let the function's role read the stubs' manifest, as an administrator would grant it: the
    lab's own policy rightly reads only the installed version's manifest (IAM enforcement)."""
    statement = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/{key}",
    }
    clients("iam", "us-east-1").put_role_policy(
        RoleName=role_arn.rsplit("/", 1)[-1],
        PolicyName="reslab-test-stub-manifest",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )


def _grant_stub_parameters(clients: Callable[..., Any], role_arn: str, prefix: str) -> None:
    """Let the installed CloudFormation role create, tag (the stack's tags) and delete the stubs'
    ``Received`` parameters, as an administrator would grant it: the generated role rightly holds
    only what the lab's templates create (no SSM parameter), and CloudFormation acts with it
    (gap 71)."""
    statement = {
        "Effect": "Allow",
        "Action": ["ssm:PutParameter", "ssm:AddTagsToResource", "ssm:DeleteParameter"],
        "Resource": f"arn:aws:ssm:*:*:parameter/{prefix}*",
    }
    clients("iam", "us-east-1").put_role_policy(
        RoleName=role_arn.rsplit("/", 1)[-1],
        PolicyName="reslab-test-stub-parameters",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )


def upload_stubs(clients: Callable[..., Any], event: dict[str, Any]) -> None:
    """Replace every template in the event's cfn bucket by its stub, and make the lab's install
    trust them: its create_stack Lambda is pointed at a manifest of the stubs (the installed
    version's manifest, shared by every lab of the build, names the real templates)."""
    stubs = put_stub_templates(clients("s3", event["cfn_region"]), event)
    manifest_key = f"stubs/{event['stack_prefix']}/{TEMPLATE_MANIFEST}"
    region = event["region_name"]
    clients("s3", region).put_object(
        Bucket=event["boot_bucket"], Key=manifest_key, Body=template_manifest(stubs)
    )
    lam = clients("lambda", region)
    for page in lam.get_paginator("list_functions").paginate():
        for fn in page["Functions"]:
            variables = dict(fn.get("Environment", {}).get("Variables", {}))
            if variables.get(INSTALLED_PREFIX_ENV) != event["stack_prefix"]:
                continue
            before = dict(variables)
            if CFN_ROLE_ENV in variables:
                _grant_stub_parameters(clients, variables[CFN_ROLE_ENV], event["stack_prefix"])
            if MANIFEST_ENV in variables:
                variables[MANIFEST_ENV] = f"s3://{event['boot_bucket']}/{manifest_key}"
                _grant_stub_manifest(clients, fn["Role"], event["boot_bucket"], manifest_key)
            # the stub VPC's subnets are made-up names: no check Lambdas to attach to them
            variables.pop(CHECK_FUNCTIONS_ENV, None)
            if variables != before:
                lam.update_function_configuration(
                    FunctionName=fn["FunctionName"], Environment={"Variables": variables}
                )
