"""Read-only look-ups in moto's EC2 backend (one account and region), in the model's terms.

Pure functions of ``ec2`` (``moto.ec2.models.ec2_backends[account][region]``); nothing here
changes moto's state.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from reslab.localcloud.network.addresses import Address, covers, host, network
from reslab.localcloud.network.verdict import MissingResource


@dataclass(frozen=True)
class RouteTarget:
    kind: str  # local, igw, nat, vpce, pcx, tgw, vgw, eni, instance, eigw, cagw, blackhole
    resource_id: str
    obj: Any = None

    def __str__(self) -> str:
        return self.resource_id if self.kind != "local" else "local"


def subnet(ec2: Any, subnet_id: str) -> Any:
    for per_zone in ec2.subnets.values():
        if subnet_id in per_zone:
            return per_zone[subnet_id]
    raise MissingResource("subnet", subnet_id)


def vpc(ec2: Any, vpc_id: str) -> Any:
    found = ec2.vpcs.get(vpc_id)
    if found is None:
        raise MissingResource("VPC", vpc_id)
    return found


def subnet_network(sub: Any) -> ipaddress.IPv4Network:
    return network(sub.cidr_block)


def interface_address(sub: Any, ip: str | None) -> Address:
    """The address of an interface in ``sub``: its own when known (and in the subnet), else
    the whole subnet (moto gives some interfaces random addresses outside their subnet)."""
    cidr = subnet_network(sub)
    if ip:
        known = host(ip)
        if known.subnet_of(cidr):
            return known
    return cidr


def route_table_of(ec2: Any, sub: Any) -> Any:
    """The subnet's route table: its explicit association, else the VPC's main table.

    moto 5.2.5's CloudFormation ``AWS::EC2::SubnetRouteTableAssociation`` records the
    association only in ``ec2.subnet_associations`` (not in the table, so DescribeRouteTables
    misses it); both are read."""
    for table in ec2.route_tables.values():
        if sub.id in table._associations.values():
            return table
    for key in getattr(ec2, "subnet_associations", {}):
        table_id, _, subnet_id = key.partition(":")
        if subnet_id == sub.id and table_id in ec2.route_tables:
            return ec2.route_tables[table_id]
    for table in ec2.route_tables.values():
        if table.vpc_id == sub.vpc_id and table.main_association_id is not None:
            return table
    raise MissingResource("main route table of", sub.vpc_id)


def network_acl_of(ec2: Any, sub: Any) -> Any:
    for acl in ec2.network_acls.values():
        if any(a.subnet_id == sub.id for a in acl._associations.values()):
            return acl
    for acl in ec2.network_acls.values():
        if acl.vpc_id == sub.vpc_id and acl.default:
            return acl
    raise MissingResource("network ACL of", sub.id)


def _classify(route: Any) -> RouteTarget:
    if route.local:
        return RouteTarget("local", "local")
    pairs = (
        ("nat", route.nat_gateway),
        ("pcx", route.vpc_pcx),
        ("tgw", route.transit_gateway),
        ("eni", route.interface),
        ("instance", route.instance),
        ("eigw", route.egress_only_igw),
        ("cagw", route.carrier_gateway),
    )
    for kind, obj in pairs:
        if obj is not None:
            return RouteTarget(kind, obj.id, obj)
    if route.gateway is not None:
        prefix = route.gateway.id.split("-", 1)[0]
        kind = {"igw": "igw", "vgw": "vgw", "vpce": "vpce"}.get(prefix, prefix)
        return RouteTarget(kind, route.gateway.id, route.gateway)
    return RouteTarget("blackhole", "blackhole")


def route_to(table: Any, destination: Address) -> RouteTarget | None:
    """Longest-prefix match of the table's IPv4 routes for ``destination`` (all of it); None
    when no route covers it. Prefix-list routes (gateway endpoints) are looked up apart."""
    best: tuple[int, Any] | None = None
    for route in table.routes:
        cidr = route.destination_cidr_block
        if cidr and covers(cidr, destination):
            length = network(cidr).prefixlen
            if best is None or length > best[0]:
                best = (length, route)
    return _classify(best[1]) if best else None


def security_groups(ec2: Any, group_ids: tuple[str, ...], vpc_id: str) -> list[Any]:
    """The groups by id; none given means the VPC's default group (as EC2 and RDS do)."""
    if not group_ids:
        default = ec2.get_default_security_group(vpc_id)
        return [default] if default is not None else []
    groups = []
    for group_id in group_ids:
        group = ec2.get_security_group_from_id(group_id)
        if group is None:
            raise MissingResource("security group", group_id)
        groups.append(group)
    return groups


def vpc_endpoints(ec2: Any, vpc_id: str, service_name: str, kind: str) -> list[Any]:
    """Available endpoints of ``kind`` (Interface/Gateway) for the service in the VPC."""
    return [
        e
        for e in ec2.vpc_end_points.values()
        if e.vpc_id == vpc_id
        and e.service_name == service_name
        and (e.vpc_endpoint_type or "Gateway").lower() == kind.lower()
        and e.state == "available"
    ]


def igw_attached(target: RouteTarget, vpc_id: str) -> bool:
    attached = getattr(target.obj, "vpc", None)
    return attached is not None and attached.id == vpc_id


def nat_public_ip(nat: Any) -> str | None:
    for address in nat.address_set or []:
        if address.get("publicIp"):
            return str(address["publicIp"])
    eni = getattr(nat, "_eni", None)
    return getattr(eni, "public_ip", None)
