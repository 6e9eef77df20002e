"""Tiny stand-in templates (one per stack of the table) so machine tests run in seconds.

Each stub takes ``Workshop`` plus, as parameters, every contract output of the stacks it depends
on, records the values it received in an SSM parameter, and returns its own contract outputs.
The storage stub has a real versioned bucket (teardown must empty it).
"""

from __future__ import annotations

import json
from typing import Any

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


def upload_stubs(s3: Any, event: dict[str, Any]) -> None:
    """Replace every template in the event's cfn bucket by its stub."""
    for spec in {spec.template_file: spec for spec in reversed(stack_table())}.values():
        s3.put_object(
            Bucket=event["cfn_bucket"],
            Key=f"{event['folder']}{spec.template_file}",
            Body=stub_template(spec).encode(),
        )
