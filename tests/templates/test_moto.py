"""The VPC and storage templates, as files, create in moto's CloudFormation (real HTTP server)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from reslab import REPO_ROOT
from reslab_lambda.stacks import stack_table
from tests.templates.contract import OUTPUTS, SAMPLE_EVENT
from tests.templates.parameters import stack_parameters

REGION = "us-east-2"
SPECS = {spec.key: spec for spec in stack_table()}


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{server._server.server_port}"
    finally:
        server.stop()


def client(url: str, service: str) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 (moto's dummy credentials)
    )


def deploy(
    url: str,
    key: str,
    prefix: str,
    outputs: dict[str, dict[str, str]],
    overrides: dict[str, str] | None = None,
) -> dict[str, str]:
    """create_stack with the YAML file as `aws cloudformation deploy` sends it; its outputs."""
    spec = SPECS[key]
    cfn = client(url, "cloudformation")
    event = {**SAMPLE_EVENT, "region_name": REGION, "stack_prefix": prefix}
    parameters = {**stack_parameters(spec, event, outputs), **(overrides or {})}
    name = spec.stack_name(event)
    cfn.create_stack(
        StackName=name,
        TemplateBody=(REPO_ROOT / spec.template_path).read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    cfn.get_waiter("stack_create_complete").wait(
        StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    [stack] = cfn.describe_stacks(StackName=name)["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def workshop_tag(tags: list[dict[str, str]]) -> str | None:
    return {t["Key"]: t["Value"] for t in tags}.get("workshop")


def test_vpc_stack_creates(moto_url: str) -> None:
    outputs = deploy(moto_url, "vpc", "MotoA", {})
    assert set(outputs) == OUTPUTS["vpc"]
    ec2 = client(moto_url, "ec2")
    private = outputs["PrivateSubnetIds"].split(",")
    public = outputs["PublicSubnetIds"].split(",")
    assert len(set(private + public)) == 6
    subnets = ec2.describe_subnets(SubnetIds=private + public)["Subnets"]
    assert {s["VpcId"] for s in subnets} == {outputs["VpcId"]}
    assert len({s["AvailabilityZone"] for s in subnets}) == 3
    assert all(workshop_tag(s["Tags"]) == SAMPLE_EVENT["workshop"] for s in subnets)
    [vpc] = ec2.describe_vpcs(VpcIds=[outputs["VpcId"]])["Vpcs"]
    assert workshop_tag(vpc["Tags"]) == SAMPLE_EVENT["workshop"]
    nats = ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [outputs["VpcId"]]}])
    assert len(nats["NatGateways"]) == 1  # NatGatewayMode=single by default
    groups = ec2.describe_security_groups(
        GroupIds=[outputs[k] for k in ("LoadBalancerSecurityGroupId", "WebSecurityGroupId")]
    )["SecurityGroups"]
    by_id = {g["GroupId"]: g for g in groups}
    [web_rule] = [
        r for r in by_id[outputs["WebSecurityGroupId"]]["IpPermissions"] if r.get("FromPort") == 80
    ]
    assert [p["GroupId"] for p in web_rule["UserIdGroupPairs"]] == [
        outputs["LoadBalancerSecurityGroupId"]
    ]
    exports = {e["Name"] for e in client(moto_url, "cloudformation").list_exports()["Exports"]}
    assert "MotoAVPC-VpcId" in exports


def test_storage_stack_creates(moto_url: str) -> None:
    outputs = deploy(moto_url, "storage", "MotoA", {})
    assert set(outputs) == OUTPUTS["storage"]
    s3 = client(moto_url, "s3")
    report = outputs["ReportBucketName"]
    assert outputs["ReportBucketArn"] == f"arn:aws:s3:::{report}"
    for bucket in (report, outputs["WebsiteBucketName"]):
        s3.head_bucket(Bucket=bucket)
        assert (
            workshop_tag(s3.get_bucket_tagging(Bucket=bucket)["TagSet"]) == SAMPLE_EVENT["workshop"]
        )
    rules = s3.get_bucket_encryption(Bucket=report)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"


def test_two_labs_side_by_side(moto_url: str) -> None:
    first = deploy(moto_url, "storage", "MotoB", {})
    second = deploy(moto_url, "storage", "MotoC", {})
    assert first["ReportBucketName"] != second["ReportBucketName"]


def test_vpc_per_az_nat_mode(moto_url: str) -> None:
    outputs = deploy(moto_url, "vpc", "MotoD", {}, {"NatGatewayMode": "per-az"})
    ec2 = client(moto_url, "ec2")
    nats = ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [outputs["VpcId"]]}])
    public = set(outputs["PublicSubnetIds"].split(","))
    assert {n["SubnetId"] for n in nats["NatGateways"]} == public
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [outputs["VpcId"]]}])
    private_nat_routes = {
        r["NatGatewayId"] for t in tables["RouteTables"] for r in t["Routes"] if "NatGatewayId" in r
    }
    assert len(private_nat_routes) == 3
