"""Stack deletion in moto 5.2.5 silently keeps many resources (no delete implemented for
NatGateway, EIP, InternetGateway, VPCGatewayAttachment, RouteTable, SubnetRouteTableAssociation,
ELBv2 TargetGroup/Listener; Subnet's delete got no id), so deleting a VPC stack ended in
DependencyViolation. DELETERS maps those types to the backend calls AWS would make.
A deleter may raise (e.g. DependencyViolation): moto's delete loop retries in the next pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_installed = False


def _ec2(account: str, region: str) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[account][region]


def _elbv2(account: str, region: str) -> Any:
    from moto.elbv2.models import elbv2_backends

    return elbv2_backends[account][region]


def _nat(res: Any, account: str, region: str) -> None:
    ec2 = _ec2(account, region)
    ec2.delete_nat_gateway(res.id)
    eni = getattr(res, "_eni", None)
    if eni is not None and eni.id in ec2.enis:
        for eip in ec2.addresses:
            if eip.eni is eni:
                eip.eni = None
                eip.association_id = None
        ec2.delete_network_interface(eni.id)


def _eip(res: Any, account: str, region: str) -> None:
    if res.eni is not None:
        raise RuntimeError(f"EIP {res.public_ip} still associated")  # retried next pass
    _ec2(account, region).release_address(allocation_id=res.allocation_id)


def _attachment(res: Any, account: str, region: str) -> None:
    ec2 = _ec2(account, region)
    if res.gateway_id in ec2.internet_gateways:
        igw = ec2.internet_gateways[res.gateway_id]
        if igw.vpc is not None and igw.vpc.id == res.vpc_id:
            ec2.detach_internet_gateway(res.gateway_id, res.vpc_id)


def _subnet_association(res: Any, account: str, region: str) -> None:
    """moto's CloudFormation association lives in its own registry (not the route table's)."""
    ec2 = _ec2(account, region)
    ec2.subnet_associations.pop(f"{res.route_table_id}:{res.subnet_id}", None)
    table = ec2.route_tables.get(res.route_table_id)
    if table is not None:
        for assoc_id, subnet_id in list(table._associations.items()):
            if subnet_id == res.subnet_id:
                del table._associations[assoc_id]


DELETERS: dict[str, Callable[[Any, str, str], None]] = {
    "AWS::EC2::NatGateway": _nat,
    "AWS::EC2::EIP": _eip,
    "AWS::EC2::VPCGatewayAttachment": _attachment,
    "AWS::EC2::InternetGateway": lambda r, a, g: _ec2(a, g).delete_internet_gateway(r.id),
    "AWS::EC2::SubnetRouteTableAssociation": _subnet_association,
    "AWS::EC2::RouteTable": lambda r, a, g: _ec2(a, g).delete_route_table(r.id),
    "AWS::EC2::Route": lambda r, a, g: None,  # goes with its route table
    "AWS::EC2::Subnet": lambda r, a, g: _ec2(a, g).delete_subnet(r.id),
    "AWS::ElasticLoadBalancingV2::Listener": lambda r, a, g: _elbv2(a, g).delete_listener(r.arn),
    "AWS::ElasticLoadBalancingV2::TargetGroup": lambda r, a, g: _elbv2(a, g).delete_target_group(
        r.arn
    ),
}


def _already_gone(exc: Exception) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return "notfound" in text or "not found" in text or "does not exist" in text


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.cloudformation.parsing import ResourceMap

    original = ResourceMap._delete_resource

    def delete_resource(self: Any, parsed_resource: Any, resource_json: dict[str, Any]) -> None:
        deleter = DELETERS.get(resource_json.get("Type", ""))
        if deleter is None:
            original(self, parsed_resource, resource_json)
            return
        try:
            deleter(parsed_resource, self._account_id, self._region_name)
        except Exception as exc:
            if not _already_gone(exc):
                raise

    ResourceMap._delete_resource = delete_resource
    _installed = True
