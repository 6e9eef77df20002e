"""``reslab sweep`` finds only what carries ITS workshop tag: the network resources of another
workshop in the same region (a NAT gateway, its Elastic IP, a network interface, a network ACL)
are never found, hence never deleted. moto ignored DescribeNatGateways' tag filter (gap 68): a
sweep of one workshop deleted every NAT gateway of the region, cutting other labs' private
subnets off the AWS APIs."""

from __future__ import annotations

from typing import Any

from reslab import sweep
from reslab.localcloud.testing import unique_prefix

REGION = "us-east-2"


def _tag(workshop: str) -> list[dict[str, Any]]:
    return [{"Key": "workshop", "Value": workshop}]


def test_a_sweep_finds_nothing_of_another_workshop(local_cloud: Any) -> None:
    ec2 = local_cloud.client("ec2", REGION)
    mine, theirs = unique_prefix("sweep-mine"), unique_prefix("sweep-theirs")
    vpc = ec2.create_vpc(CidrBlock="10.71.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.71.1.0/24")["Subnet"]["SubnetId"]
    created: dict[str, str] = {}
    for owner in (mine, theirs):
        tags = [{"ResourceType": "elastic-ip", "Tags": _tag(owner)}]
        address = ec2.allocate_address(Domain="vpc", TagSpecifications=tags)["AllocationId"]
        nat = ec2.create_nat_gateway(
            SubnetId=subnet,
            AllocationId=address,
            TagSpecifications=[{"ResourceType": "natgateway", "Tags": _tag(owner)}],
        )["NatGateway"]["NatGatewayId"]
        eni = ec2.create_network_interface(
            SubnetId=subnet,
            TagSpecifications=[{"ResourceType": "network-interface", "Tags": _tag(owner)}],
        )["NetworkInterface"]["NetworkInterfaceId"]
        acl = ec2.create_network_acl(
            VpcId=vpc, TagSpecifications=[{"ResourceType": "network-acl", "Tags": _tag(owner)}]
        )["NetworkAcl"]["NetworkAclId"]
        for kind, ident in (("elastic-ip", address), ("nat", nat), ("eni", eni), ("acl", acl)):
            created[f"{owner}/{kind}"] = ident
    # an untagged NAT gateway too: a filter by tag must not return it either
    untagged = ec2.create_nat_gateway(
        SubnetId=subnet, AllocationId=ec2.allocate_address(Domain="vpc")["AllocationId"]
    )["NatGateway"]["NatGatewayId"]

    found = {f.id for f in sweep.find(local_cloud.client, mine, [REGION])}
    assert {v for k, v in created.items() if k.startswith(f"{mine}/")} <= found
    assert not found & {v for k, v in created.items() if k.startswith(f"{theirs}/")}
    assert untagged not in found
    nats = ec2.describe_nat_gateways(Filters=[{"Name": "tag:workshop", "Values": [theirs]}])
    assert [n["NatGatewayId"] for n in nats["NatGateways"]] == [created[f"{theirs}/nat"]]
    keyed = ec2.describe_nat_gateways(Filters=[{"Name": "tag-key", "Values": ["workshop"]}])
    assert untagged not in {n["NatGatewayId"] for n in keyed["NatGateways"]}
