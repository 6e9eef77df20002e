"""Build VPCs in the local cloud through the EC2 API, and read the state the model reads."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ec2.models import ec2_backends

from reslab.chaos import actions
from reslab.chaos.lookups import subnet_acl_associations
from reslab.chaos.plan import run_calls
from reslab.localcloud.network.parties import Attachment
from reslab.localcloud.network.ports import EPHEMERAL_ANY

REGION = "us-east-2"


def backend(region: str = REGION) -> Any:
    """moto's EC2 backend: the state the reachability model is a function of."""
    return ec2_backends[DEFAULT_ACCOUNT_ID][region]


@dataclass
class Vpc:
    """A new VPC (or the one ``vpc_id`` names); helpers return the new resource's id."""

    ec2: Any  # boto3 EC2 client on the local cloud
    cidr: str = "10.20.0.0/16"
    vpc_id: str = ""
    zones: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.vpc_id:  # one that exists (a template's)
            self.cidr = self.ec2.describe_vpcs(VpcIds=[self.vpc_id])["Vpcs"][0]["CidrBlock"]
        else:
            self.vpc_id = self.ec2.create_vpc(CidrBlock=self.cidr)["Vpc"]["VpcId"]
        self.zones = [
            z["ZoneName"] for z in self.ec2.describe_availability_zones()["AvailabilityZones"]
        ]
        self._next_subnet = 0

    def subnet(self, zone: int = 0) -> str:
        blocks = list(ipaddress.IPv4Network(self.cidr).subnets(new_prefix=24))
        block = blocks[self._next_subnet]
        self._next_subnet += 1
        return self.ec2.create_subnet(
            VpcId=self.vpc_id, CidrBlock=str(block), AvailabilityZone=self.zones[zone]
        )["Subnet"]["SubnetId"]

    def cidr_of(self, subnet_id: str) -> str:
        return self.ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]["CidrBlock"]

    def group(self, name: str, egress: bool = True) -> str:
        """A security group; ``egress=False`` removes the default allow-all egress rule."""
        group_id = self.ec2.create_security_group(
            GroupName=f"{name}-{self.vpc_id}", Description=name, VpcId=self.vpc_id
        )["GroupId"]
        if not egress:
            self.ec2.revoke_security_group_egress(
                GroupId=group_id,
                IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
            )
        return group_id

    def allow(
        self,
        group_id: str,
        port: int,
        *,
        egress: bool = False,
        group: str | None = None,
        cidr: str | None = None,
    ) -> None:
        permission: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port}
        if group:
            permission["UserIdGroupPairs"] = [{"GroupId": group}]
        if cidr:
            permission["IpRanges"] = [{"CidrIp": cidr}]
        call = (
            self.ec2.authorize_security_group_egress
            if egress
            else self.ec2.authorize_security_group_ingress
        )
        call(GroupId=group_id, IpPermissions=[permission])

    def revoke_ingress(self, group_id: str, port: int, group: str) -> None:
        self.ec2.revoke_security_group_ingress(
            GroupId=group_id,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": port,
                    "ToPort": port,
                    "UserIdGroupPairs": [{"GroupId": group}],
                }
            ],
        )

    def route_table(self, *subnet_ids: str) -> str:
        table = self.ec2.create_route_table(VpcId=self.vpc_id)["RouteTable"]["RouteTableId"]
        for subnet_id in subnet_ids:
            self.ec2.associate_route_table(RouteTableId=table, SubnetId=subnet_id)
        return table

    def internet_gateway(self) -> str:
        igw = self.ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        self.ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=self.vpc_id)
        return igw

    def public_subnet(self, zone: int = 0) -> tuple[str, str]:
        """A subnet whose table sends 0.0.0.0/0 to a new internet gateway; (subnet, table)."""
        subnet_id = self.subnet(zone)
        table = self.route_table(subnet_id)
        self.ec2.create_route(
            RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=self.internet_gateway()
        )
        return subnet_id, table

    def nat_gateway(self, public_subnet: str) -> str:
        allocation = self.ec2.allocate_address(Domain="vpc")["AllocationId"]
        return self.ec2.create_nat_gateway(SubnetId=public_subnet, AllocationId=allocation)[
            "NatGateway"
        ]["NatGatewayId"]

    def default_route(self, table: str, **target: str) -> None:
        self.ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", **target)

    def enable_dns_hostnames(self) -> None:
        self.ec2.modify_vpc_attribute(VpcId=self.vpc_id, EnableDnsHostnames={"Value": True})


class _ChaosLab:
    """What reslab.chaos's call runner needs: clients for the lab's region."""

    def __init__(self, cloud: Any, region: str) -> None:
        self._cloud, self._region = cloud, region

    def client(self, service: str, region: str | None = None) -> Any:
        return self._cloud.client(service, region or self._region)


def isolate_subnets(cloud: Any, vpc: Vpc, subnet_ids: list[str]) -> tuple[str, dict[str, str]]:
    """What ``reslab inject az`` does to an AZ's subnets: a new deny-all network ACL (its own
    calls, made by its own runner). Returns (acl id, subnet -> the ACL it had before)."""
    before = subnet_acl_associations(vpc.ec2, subnet_ids)
    calls = actions.create_deny_all_network_acl(vpc.vpc_id, {"reslab:test": "network"}, "acl0")
    calls += actions.associate_network_acl(
        {s: found["association"] for s, found in before.items()}, "${acl0}"
    )
    saved = run_calls(_ChaosLab(cloud, REGION), calls, {})  # type: ignore[arg-type]
    return saved["acl0"], {s: found["acl"] for s, found in before.items()}


def restore_subnets(cloud: Any, vpc: Vpc, acl_id: str, previous: dict[str, str]) -> None:
    """Undo :func:`isolate_subnets` as ``reslab recover az`` does."""
    calls = actions.restore_network_acl_associations(vpc.ec2, previous, {acl_id})
    run_calls(_ChaosLab(cloud, REGION), calls, {})  # type: ignore[arg-type]


def run_instance(vpc: Vpc, subnet_id: str, *groups: str, public: bool = False) -> Any:
    """A running EC2 instance; returns moto's object (what ``instance_caller`` reads)."""
    image = vpc.ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    interface = {
        "DeviceIndex": 0,
        "SubnetId": subnet_id,
        "Groups": list(groups),
        "AssociatePublicIpAddress": public,
    }
    reservation = vpc.ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, NetworkInterfaces=[interface]
    )
    return backend().get_instance(reservation["Instances"][0]["InstanceId"])


def lambda_function(cloud: Any, subnets: tuple[str, ...] = (), groups: tuple[str, ...] = ()) -> Any:
    """A Lambda function (attached to the subnets when given); returns moto's object."""
    from moto.awslambda.models import lambda_backends

    from reslab.localcloud.testing import lambda_role, unique_prefix, zip_files

    name = unique_prefix("net")
    extra = {"VpcConfig": {"SubnetIds": list(subnets), "SecurityGroupIds": list(groups)}}
    cloud.client("lambda", REGION).create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=lambda_role(cloud),
        Handler="app.handler",
        Code={"ZipFile": zip_files({"app.py": "def handler(e, c):\n    return e\n"})},
        **(extra if subnets else {}),
    )
    return lambda_backends[DEFAULT_ACCOUNT_ID][REGION].get_function(name)


@dataclass
class Private:
    """A private subnet (its own route table, no default route) and a caller's group."""

    vpc: Vpc
    subnet: str
    table: str
    group: str

    @property
    def caller(self) -> Attachment:  # a Lambda function's interface in the subnet
        return Attachment(self.subnet, (self.group,), ephemeral=EPHEMERAL_ANY)

    def add_nat(self) -> None:
        public_subnet, _ = self.vpc.public_subnet(1)
        self.vpc.default_route(self.table, NatGatewayId=self.vpc.nat_gateway(public_subnet))

    def interface_endpoint(self, service: str, *groups: str) -> str:
        return self.vpc.ec2.create_vpc_endpoint(
            VpcId=self.vpc.vpc_id,
            ServiceName=f"com.amazonaws.{REGION}.{service}",
            VpcEndpointType="Interface",
            SubnetIds=[self.subnet],
            SecurityGroupIds=list(groups),
            PrivateDnsEnabled=True,
        )["VpcEndpoint"]["VpcEndpointId"]
