"""Two-AZ and three-AZ regions in the local cloud, as on AWS: ``Fn::GetAZs`` gives the region's
own zones, and the lab's VPC stack, its ``AvailabilityZoneCount`` read by the create Lambda's code
(``reslab_lambda.cfn.region_facts``), spans two AZs in us-west-1 and three in us-east-2."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from reslab.localcloud.testing import unique_prefix, wait_for_stack
from reslab.templates import template_parameters
from reslab_lambda import cfn
from reslab_lambda.errors import StackFailed
from reslab_lambda.stacks import spec_for
from tests.localcloud.lab import TEMPLATES

#: region -> its available zones, as AWS lists them for most accounts (and moto's EC2 does)
ZONES = {
    "us-west-1": ["us-west-1a", "us-west-1b"],
    "us-east-2": ["us-east-2a", "us-east-2b", "us-east-2c"],
    "ap-northeast-1": ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"],
}

GET_AZS = """
Resources:
  Topic:
    Type: AWS::SNS::Topic
Outputs:
  Zones:
    Value: !Join [",", !GetAZs ""]
"""


@pytest.fixture
def lambda_env(local_cloud: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3 in this process as the create Lambda's inside the local cloud."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_cloud.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")  # moto's dummy credentials


def outputs_of(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


@pytest.mark.parametrize("region", list(ZONES))
def test_get_azs_gives_the_stacks_region_zones(local_cloud: Any, region: str) -> None:
    ec2 = local_cloud.client("ec2", region)
    listed = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]]
    assert listed == ZONES[region]
    client = local_cloud.client("cloudformation", region)
    name = unique_prefix("azs")
    client.create_stack(StackName=name, TemplateBody=GET_AZS)
    stack = wait_for_stack(client, name)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    assert outputs_of(stack)["Zones"] == ",".join(ZONES[region])
    client.delete_stack(StackName=name)


@pytest.mark.parametrize("region", list(ZONES))
def test_the_create_lambda_counts_the_regions_zones(lambda_env: None, region: str) -> None:
    facts = cfn.region_facts(spec_for("vpc"), region)
    assert facts == {"AvailabilityZoneCount": str(min(len(ZONES[region]), 3))}


def test_a_region_with_one_zone_is_refused_before_anything_is_created(
    lambda_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    class OneZone:
        def describe_availability_zones(self, **_: Any) -> dict[str, Any]:
            return {"AvailabilityZones": [{"ZoneName": "xx-test-1a"}]}

    monkeypatch.setattr(cfn, "client", lambda service, region: OneZone())
    with pytest.raises(StackFailed, match=r"region xx-test-1 has 1 available Availability Zone"):
        cfn.region_facts(spec_for("vpc"), "xx-test-1")


@pytest.fixture(params=["us-west-1", "us-east-2"])
def lab_vpc(request: Any, local_cloud: Any, lambda_env: None) -> Iterator[dict[str, Any]]:
    """vpc.yaml with per-AZ NAT, its parameters filled as the create Lambda fills them."""
    region = request.param
    spec = spec_for("vpc")
    event = {"workshop": "two-az-test", "region_name": region}
    facts = cfn.region_facts(spec, region)
    values = cfn.resolve_parameters(spec, template_parameters(spec.template), event, {}, facts)
    values["NatGatewayMode"] = "per-az"
    client = local_cloud.client("cloudformation", region)
    name = f"{unique_prefix('twoaz')}-VPC"
    client.create_stack(
        StackName=name,
        TemplateBody=(TEMPLATES / "vpc.yaml").read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()],
    )
    stack = wait_for_stack(client, name)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    yield {"region": region, "values": values, "outputs": outputs_of(stack)}
    client.delete_stack(StackName=name)
    assert wait_for_stack(client, stack["StackId"])["StackStatus"] == "DELETE_COMPLETE"


def test_the_lab_vpc_spans_every_zone_of_the_region_up_to_three(
    local_cloud: Any, lab_vpc: dict[str, Any]
) -> None:
    region, outputs = lab_vpc["region"], lab_vpc["outputs"]
    zones = ZONES[region][:3]
    assert lab_vpc["values"]["AvailabilityZoneCount"] == str(len(zones))
    assert outputs["AvailabilityZones"].split(",") == zones
    ec2 = local_cloud.client("ec2", region)
    for tier in ("PublicSubnetIds", "PrivateSubnetIds"):
        ids = outputs[tier].split(",")
        subnets = {s["SubnetId"]: s for s in ec2.describe_subnets(SubnetIds=ids)["Subnets"]}
        assert [subnets[i]["AvailabilityZone"] for i in ids] == zones, tier
    vpc = [{"Name": "vpc-id", "Values": [outputs["VpcId"]]}]
    nats = ec2.describe_nat_gateways(Filter=vpc)["NatGateways"]
    assert sorted(n["SubnetId"] for n in nats) == sorted(outputs["PublicSubnetIds"].split(","))
    tables = ec2.describe_route_tables(Filters=vpc)["RouteTables"]
    # one private route table per AZ, its default route through that AZ's NAT gateway
    nat_routes = [r["NatGatewayId"] for t in tables for r in t["Routes"] if "NatGatewayId" in r]
    assert sorted(nat_routes) == sorted(n["NatGatewayId"] for n in nats)
    assert len(ec2.describe_subnets(Filters=vpc)["Subnets"]) == 2 * len(zones)


CONDITION_TAG = """
Parameters:
  Mode: {Type: String, Default: per-az}
  Count: {Type: String, Default: "3"}
Conditions:
  PerAz: !Equals [!Ref Mode, per-az]
  ThreeAzs: !Equals [!Ref Count, "3"]
  Both: !And [!Condition PerAz, !Condition ThreeAzs]
  Either: !Or [!Condition PerAz, !Not [!Condition ThreeAzs]]
Resources:
  Always:
    Type: AWS::SNS::Topic
  Gated:
    Type: AWS::SNS::Topic
    Condition: Both
Outputs:
  Both:
    Value: !If [Both, "yes", "no"]
  Either:
    Value: !If [Either, "yes", "no"]
"""


@pytest.mark.parametrize(
    ("mode", "count", "expected"),
    [
        ("per-az", "3", ("yes", "yes")),
        ("per-az", "2", ("no", "yes")),
        ("single", "3", ("no", "no")),
    ],
)
def test_condition_short_form_inside_and_or_not(
    local_cloud: Any, mode: str, count: str, expected: tuple[str, str]
) -> None:
    """``!Condition`` inside ``!And``/``!Or``/``!Not`` reads the named condition (gap 13b)."""
    client = local_cloud.client("cloudformation", "us-east-2")
    name = unique_prefix("cond")
    client.create_stack(
        StackName=name,
        TemplateBody=CONDITION_TAG,
        Parameters=[
            {"ParameterKey": "Mode", "ParameterValue": mode},
            {"ParameterKey": "Count", "ParameterValue": count},
        ],
    )
    stack = wait_for_stack(client, name)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    outputs = outputs_of(stack)
    assert (outputs["Both"], outputs["Either"]) == expected
    resources = client.list_stack_resources(StackName=name)["StackResourceSummaries"]
    listed = {r["LogicalResourceId"] for r in resources}
    assert "Always" in listed
    assert ("Gated" in listed) == (expected[0] == "yes")
    client.delete_stack(StackName=name)
