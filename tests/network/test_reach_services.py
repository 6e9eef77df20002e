"""Can a VPC-attached caller reach an AWS API? NAT gateways, VPC endpoints, internet gateways."""

from __future__ import annotations

from reslab.localcloud.network.parties import Attachment, Internet, instance_caller
from reslab.localcloud.network.ports import EPHEMERAL_ANY
from reslab.localcloud.network.reach import service_verdict
from tests.network.topologies import REGION, Vpc, backend, run_instance


def test_outside_a_vpc_every_api_is_reachable() -> None:
    assert service_verdict(backend(), Internet(), "rds", REGION).allowed


def test_a_private_subnet_reaches_apis_through_a_nat_gateway(private) -> None:
    before = service_verdict(backend(), private.caller, "rds", REGION)
    assert (before.refusal.step, before.refusal.resource) == ("route", private.table)
    assert "no 0.0.0.0/0 route" in before.refusal.detail
    assert f"com.amazonaws.{REGION}.rds" in before.refusal.detail
    private.add_nat()
    after = service_verdict(backend(), private.caller, "rds", REGION)
    assert after.allowed, after.explain()
    assert "nat-route" in [h.step for h in after.hops]


def test_an_interface_endpoint_with_private_dns_serves_its_service_only(private) -> None:
    endpoint_group = private.vpc.group("endpoint")
    private.vpc.allow(endpoint_group, 443, group=private.group)
    endpoint = private.interface_endpoint("secretsmanager", endpoint_group)
    verdict = service_verdict(backend(), private.caller, "secretsmanager", REGION)
    assert verdict.allowed, verdict.explain()
    assert (verdict.hops[0].step, verdict.hops[0].resource) == ("vpc-endpoint", endpoint)
    assert not service_verdict(backend(), private.caller, "rds", REGION).allowed
    elsewhere = service_verdict(backend(), private.caller, "secretsmanager", "us-west-2")
    assert elsewhere.refusal.step == "route"  # endpoints serve their own region's API only


def test_an_endpoint_whose_group_refuses_443_fails_even_with_a_nat_gateway(private) -> None:
    private.add_nat()
    closed = private.vpc.group("endpoint-closed")
    private.interface_endpoint("ssm", closed)
    verdict = service_verdict(backend(), private.caller, "ssm", REGION)
    assert (verdict.refusal.step, verdict.refusal.resource) == ("security-group-ingress", closed)
    assert "tcp/443" in verdict.refusal.detail


def test_an_interface_endpoint_is_not_used_without_dns_hostnames(local_cloud) -> None:
    vpc = Vpc(local_cloud.client("ec2", REGION))  # enableDnsHostnames is off by default
    subnet = vpc.subnet(0)
    table = vpc.route_table(subnet)
    caller = Attachment(subnet, (vpc.group("lambda"),), ephemeral=EPHEMERAL_ANY)
    vpc.ec2.create_vpc_endpoint(
        VpcId=vpc.vpc_id,
        ServiceName=f"com.amazonaws.{REGION}.sts",
        VpcEndpointType="Interface",
        SubnetIds=[subnet],
        PrivateDnsEnabled=True,
    )
    verdict = service_verdict(backend(), caller, "sts", REGION)
    assert (verdict.refusal.step, verdict.refusal.resource) == ("route", table)


def test_a_gateway_endpoint_serves_the_route_tables_it_is_associated_with(private) -> None:
    other_table = private.vpc.route_table(private.vpc.subnet(1))
    endpoint = private.vpc.ec2.create_vpc_endpoint(
        VpcId=private.vpc.vpc_id,
        ServiceName=f"com.amazonaws.{REGION}.s3",
        VpcEndpointType="Gateway",
        RouteTableIds=[other_table],
    )["VpcEndpoint"]
    assert not service_verdict(backend(), private.caller, "s3", REGION).allowed
    private.vpc.ec2.modify_vpc_endpoint(
        VpcEndpointId=endpoint["VpcEndpointId"], AddRouteTableIds=[private.table]
    )
    verdict = service_verdict(backend(), private.caller, "s3", REGION)
    assert verdict.allowed, verdict.explain()
    assert endpoint["VpcEndpointId"] in verdict.hops[0].detail
    assert not service_verdict(backend(), private.caller, "dynamodb", REGION).allowed


def test_a_group_may_allow_only_the_services_prefix_list(private) -> None:
    endpoint = private.vpc.ec2.create_vpc_endpoint(
        VpcId=private.vpc.vpc_id,
        ServiceName=f"com.amazonaws.{REGION}.s3",
        VpcEndpointType="Gateway",
        RouteTableIds=[private.table],
    )["VpcEndpoint"]
    prefix_list = backend().vpc_end_points[endpoint["VpcEndpointId"]].destination_prefix_list_id
    assert prefix_list and prefix_list.startswith("pl-")
    narrow = private.vpc.group("s3-only", egress=False)
    caller = Attachment(private.subnet, (narrow,), ephemeral=EPHEMERAL_ANY)
    refused = service_verdict(backend(), caller, "s3", REGION)
    assert (refused.refusal.step, refused.refusal.resource) == ("security-group-egress", narrow)
    private.vpc.ec2.authorize_security_group_egress(
        GroupId=narrow,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "PrefixListIds": [{"PrefixListId": prefix_list}],
            }
        ],
    )
    assert service_verdict(backend(), caller, "s3", REGION).allowed


def test_an_internet_gateway_route_serves_public_addresses_only(local_cloud) -> None:
    vpc = Vpc(local_cloud.client("ec2", REGION))
    public_subnet, _ = vpc.public_subnet()
    group = vpc.group("web")
    lambda_there = Attachment(public_subnet, (group,), ephemeral=EPHEMERAL_ANY)
    refused = service_verdict(backend(), lambda_there, "s3", REGION)
    assert refused.refusal.step == "public-ip" and "NAT gateway" in refused.refusal.detail
    instance = run_instance(vpc, public_subnet, group, public=True)
    (source,) = instance_caller(instance).sources
    assert source.public_ip
    assert service_verdict(backend(), source, "s3", REGION).allowed
