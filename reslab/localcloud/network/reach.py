"""Can this source open a TCP connection to that database, or reach that AWS API? Hop by hop.

Pure functions of moto's EC2 backend for the region (``ec2``) and the descriptions in
:mod:`reslab.localcloud.network.parties`. Each path is a generator of steps (see
:mod:`reslab.localcloud.network.verdict`); ``established=True`` keeps only the stateless steps
(routes and network ACLs): what still decides for a connection that is already open, since
security groups track connections and a rule removed later does not cut them, while a network
ACL or a route applies to every packet. The model and what it leaves out:
docs/network-model.md.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from reslab.localcloud.network import topology
from reslab.localcloud.network.addresses import UNKNOWN_PUBLIC, Address, describe, host
from reslab.localcloud.network.parties import Attachment, DatabasePlacement, Internet, Source
from reslab.localcloud.network.ports import EPHEMERAL_ANY, HTTPS, PortRange
from reslab.localcloud.network.rules import (
    Peer,
    acl_decision,
    allowing_rule,
    describe_entry,
    describe_rule,
)
from reslab.localcloud.network.verdict import Decision, Hop, Step, Verdict, walk

#: boto3 service name -> the name in ``com.amazonaws.<region>.<name>`` where they differ.
ENDPOINT_SERVICE_NAMES = {"stepfunctions": "states", "cloudwatch": "monitoring"}
#: Services with gateway endpoints (route-table entries to the service's prefix list).
GATEWAY_SERVICES = frozenset({"s3", "dynamodb"})

Path = Generator[Step, None, Any]


def endpoint_service_name(service: str, region: str) -> str:
    return f"com.amazonaws.{region}.{ENDPOINT_SERVICE_NAMES.get(service, service)}"


def database_verdict(
    ec2: Any,
    source: Source,
    db: DatabasePlacement,
    *,
    established: bool = False,
    db_ec2: Any = None,
) -> Verdict:
    """Can ``source`` open TCP ``db.port`` to the database (or keep an open connection)?

    ``ec2`` is the caller's region's backend; ``db_ec2`` the database's when it is in another
    region (then only the internet path exists)."""
    db_side = ec2 if db_ec2 is None else db_ec2
    if isinstance(source, Internet):
        return walk(_internet_to_database(db_side, source, db, established))
    return walk(_attachment_to_database(ec2, source, db, established, db_side))


def database_decision(
    ec2: Any, source: Source, db: DatabasePlacement, db_ec2: Any = None
) -> Decision:
    """Both verdicts a gate to the database enforces."""
    return Decision(
        database_verdict(ec2, source, db, db_ec2=db_ec2),
        database_verdict(ec2, source, db, established=True, db_ec2=db_ec2),
    )


def service_verdict(
    ec2: Any, source: Source, service: str, region: str, *, established: bool = False
) -> Verdict:
    """Can ``source`` reach the HTTPS API of ``service`` (boto3 name) in ``region``?"""
    if isinstance(source, Internet):
        return Verdict(True, (Hop("internet", "-", "outside any VPC: over the internet"),))
    return walk(_attachment_to_service(ec2, source, service, region, established))


def service_decision(ec2: Any, source: Source, service: str, region: str) -> Decision:
    """Both verdicts a gate to the API enforces."""
    return Decision(
        service_verdict(ec2, source, service, region),
        service_verdict(ec2, source, service, region, established=True),
    )


# -- the two ends of a path inside a VPC --------------------------------------------------------
@dataclass(frozen=True)
class _End:
    subnet: Any
    address: Address
    groups: list[Any]
    ephemeral: PortRange

    @property
    def group_ids(self) -> frozenset[str]:
        return frozenset(g.id for g in self.groups)


def _attachment_end(ec2: Any, src: Attachment, sub: Any) -> _End:
    groups = topology.security_groups(ec2, src.security_group_ids, sub.vpc_id)
    return _End(sub, topology.interface_address(sub, src.private_ip), groups, src.ephemeral)


def _subnet_end(ec2: Any, sub: Any, group_ids: tuple[str, ...]) -> _End:
    groups = topology.security_groups(ec2, group_ids, sub.vpc_id)
    return _End(sub, topology.subnet_network(sub), groups, EPHEMERAL_ANY)


# -- steps ---------------------------------------------------------------------------------------
def _route_step(step: str, ec2: Any, sub: Any, destination: Address) -> Step:
    """Inside a VPC: the longest-prefix route for ``destination`` must be the local one."""
    table = topology.route_table_of(ec2, sub)
    target = topology.route_to(table, destination)
    if target is not None and target.kind == "local":
        return True, Hop(step, table.id, f"{describe(destination)} via the local route")
    where = "no route" if target is None else f"the route goes to {target}"
    return False, Hop(step, table.id, f"{where} for {describe(destination)} (from {sub.id})")


def _sg_step(step: str, groups: list[Any], *, egress: bool, port: int, peer: Peer) -> Step:
    ids = ",".join(g.id for g in groups) or "(none)"
    rule = allowing_rule(groups, egress=egress, port=port, peer=peer)
    if rule is not None:
        return True, Hop(step, rule.group_id, describe_rule(rule))
    towards = "to" if egress else "from"
    who = describe(peer.address)
    if peer.security_group_ids:
        who += f" (security groups {','.join(sorted(peer.security_group_ids))})"
    if peer.prefix_list_id:
        who += f" (prefix list {peer.prefix_list_id})"
    return False, Hop(step, ids, f"no rule allows tcp/{port} {towards} {who}")


def _acl_step(step: str, ec2: Any, sub: Any, egress: bool, ports: PortRange, peer: Address) -> Step:
    acl = topology.network_acl_of(ec2, sub)
    decision = acl_decision(acl, egress=egress, ports=ports, peer=peer)
    if decision.allowed:
        return True, Hop(step, acl.id, f"{describe_entry(decision.entry)} ({sub.id})")
    towards = "to" if egress else "from"
    return False, Hop(
        step,
        acl.id,
        f"{describe_entry(decision.entry)}: drops tcp/{decision.refused_ports} {towards} "
        f"{describe(peer)} ({sub.id})",
    )


def _dns_step(ec2: Any, vpc_id: str) -> Step:
    if _truthy(topology.vpc(ec2, vpc_id).enable_dns_support):
        return True, Hop("dns", vpc_id, "the VPC's resolver answers for the endpoint name")
    return False, Hop("dns", vpc_id, "enableDnsSupport is off: the endpoint name does not resolve")


def _internet_gateway(target: topology.RouteTarget | None, vpc_id: str) -> bool:
    return target is not None and target.kind == "igw" and topology.igw_attached(target, vpc_id)


def _internet_route_step(step: str, ec2: Any, sub: Any, destination: Address) -> Step:
    """The subnet's route to an internet address must be an attached internet gateway."""
    table = topology.route_table_of(ec2, sub)
    target = topology.route_to(table, destination)
    return _internet_gateway(target, sub.vpc_id), Hop(
        step,
        table.id,
        f"{sub.id} sends {describe(destination)} to {target if target else 'no route'}; "
        "an attached internet gateway is needed",
    )


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _between(ec2: Any, a: _End, b: _End, port: int, established: bool) -> Path:
    """A connection from ``a`` to ``b`` on ``port`` inside one VPC, and its replies. Traffic
    between two interfaces of one subnet crosses no network ACL."""
    crossing = a.subnet.id != b.subnet.id
    yield _route_step("route", ec2, a.subnet, b.address)
    if not established:
        peer = Peer(b.address, b.group_ids)
        yield _sg_step("security-group-egress", a.groups, egress=True, port=port, peer=peer)
    if crossing:
        single = PortRange.single(port)
        yield _acl_step("network-acl-egress", ec2, a.subnet, True, single, b.address)
        yield _acl_step("network-acl-ingress", ec2, b.subnet, False, single, a.address)
    if not established:
        peer = Peer(a.address, a.group_ids)
        yield _sg_step("security-group-ingress", b.groups, egress=False, port=port, peer=peer)
    yield _route_step("return-route", ec2, b.subnet, a.address)
    if crossing:
        yield _acl_step("return-network-acl-egress", ec2, b.subnet, True, a.ephemeral, a.address)
        yield _acl_step("return-network-acl-ingress", ec2, a.subnet, False, a.ephemeral, b.address)


# -- databases -----------------------------------------------------------------------------------
def _attachment_to_database(
    ec2: Any, src: Attachment, db: DatabasePlacement, established: bool, db_ec2: Any
) -> Path:
    src_sub = topology.subnet(ec2, src.subnet_id)
    db_sub = topology.subnet(db_ec2, db.subnet_id)
    if db_ec2 is not ec2 or src_sub.vpc_id != db_sub.vpc_id:
        where = db_sub.vpc_id if db_ec2 is ec2 else f"{db_sub.vpc_id} in {db_ec2.region_name}"
        yield (
            True,
            Hop("vpc", src_sub.vpc_id, f"the database is in {where}: no peering is modelled"),
        )
        public_ip = yield from _to_internet(ec2, src, db.port, established, f"database {db.name}")
        yield from _internet_to_database(db_ec2, Internet(public_ip), db, established)
        return
    yield True, Hop("vpc", src_sub.vpc_id, f"caller and database {db.name} share the VPC")
    if not established:
        yield _dns_step(ec2, src_sub.vpc_id)
    caller = _attachment_end(ec2, src, src_sub)
    target = _subnet_end(ec2, db_sub, db.security_group_ids)
    yield from _between(ec2, caller, target, db.port, established)


def _internet_to_database(
    ec2: Any, src: Internet, db: DatabasePlacement, established: bool
) -> Path:
    if not db.publicly_accessible:
        yield (
            False,
            Hop(
                "publicly-accessible",
                db.name,
                "not publicly accessible: its endpoint resolves to a private address, "
                "unreachable from outside its VPC",
            ),
        )
        return
    yield True, Hop("publicly-accessible", db.name, "publicly accessible")
    db_sub = topology.subnet(ec2, db.subnet_id)
    address = host(src.public_ip) if src.public_ip else UNKNOWN_PUBLIC
    yield _internet_route_step("return-route", ec2, db_sub, address)
    single = PortRange.single(db.port)
    yield _acl_step("network-acl-ingress", ec2, db_sub, False, single, address)
    if not established:
        groups = topology.security_groups(ec2, db.security_group_ids, db_sub.vpc_id)
        peer = Peer(address)
        yield _sg_step("security-group-ingress", groups, egress=False, port=db.port, peer=peer)
    yield _acl_step("return-network-acl-egress", ec2, db_sub, True, src.ephemeral, address)


# -- the internet from inside a VPC (NAT gateway, or internet gateway with a public IP) ---------
def _to_internet(
    ec2: Any, src: Attachment, port: int, established: bool, purpose: str
) -> Generator[Step, None, str | None]:
    """Steps out to an internet address on ``port``; returns the public address the traffic
    leaves with (the NAT gateway's, or the caller's own)."""
    sub = topology.subnet(ec2, src.subnet_id)
    caller = _attachment_end(ec2, src, sub)
    table = topology.route_table_of(ec2, sub)
    target = topology.route_to(table, UNKNOWN_PUBLIC)
    if target is None or target.kind not in ("nat", "igw"):
        found = "no 0.0.0.0/0 route" if target is None else f"0.0.0.0/0 goes to {target}"
        yield False, Hop("route", table.id, f"no way to the internet for {purpose}: {found}")
        return None
    public_ip: str | None
    if target.kind == "igw":
        yield (
            _internet_gateway(target, sub.vpc_id),
            Hop("route", table.id, f"0.0.0.0/0 to {target} ({sub.id})"),
        )
        yield (
            bool(src.public_ip),
            Hop(
                "public-ip",
                sub.id,
                "an internet gateway route needs a public address on the interface; a Lambda "
                "function's interface never has one (use a NAT gateway)",
            ),
        )
        public_ip = src.public_ip
    else:
        nat = target.obj
        usable = nat.state == "available" and nat.connectivity_type != "private"
        yield usable, Hop("route", table.id, f"0.0.0.0/0 to {nat.id} ({nat.state}) for {purpose}")
        public_ip = yield from _through_nat(ec2, nat, caller, port)
    if not established:
        peer = Peer(UNKNOWN_PUBLIC)
        yield _sg_step("security-group-egress", caller.groups, egress=True, port=port, peer=peer)
    yield _acl_step("network-acl-egress", ec2, sub, True, PortRange.single(port), None)
    yield _acl_step("return-network-acl-ingress", ec2, sub, False, caller.ephemeral, None)
    return public_ip


def _through_nat(ec2: Any, nat: Any, caller: _End, port: int) -> Generator[Step, None, str | None]:
    nat_sub = topology.subnet(ec2, nat.subnet_id)
    yield _internet_route_step("nat-route", ec2, nat_sub, UNKNOWN_PUBLIC)
    single = PortRange.single(port)
    if nat_sub.id != caller.subnet.id:
        yield _acl_step("nat-network-acl-ingress", ec2, nat_sub, False, single, caller.address)
        yield _acl_step(
            "nat-return-network-acl-egress", ec2, nat_sub, True, caller.ephemeral, caller.address
        )
    yield _acl_step("nat-network-acl-egress", ec2, nat_sub, True, single, None)
    yield _acl_step("nat-return-network-acl-ingress", ec2, nat_sub, False, EPHEMERAL_ANY, None)
    return topology.nat_public_ip(nat)


# -- AWS APIs --------------------------------------------------------------------------------------
def _attachment_to_service(
    ec2: Any, src: Attachment, service: str, region: str, established: bool
) -> Path:
    sub = topology.subnet(ec2, src.subnet_id)
    name = endpoint_service_name(service, region)
    if ec2.region_name == region:  # endpoints serve their own region's APIs
        interface = [
            e
            for e in topology.vpc_endpoints(ec2, sub.vpc_id, name, "Interface")
            if e.private_dns_enabled is None or _truthy(e.private_dns_enabled)
        ]
        vpc = topology.vpc(ec2, sub.vpc_id)
        if interface and _truthy(vpc.enable_dns_support) and _truthy(vpc.enable_dns_hostnames):
            yield from _via_interface_endpoint(ec2, src, sub, interface[0], established)
            return
        table = topology.route_table_of(ec2, sub)
        gateways = [
            e
            for e in topology.vpc_endpoints(ec2, sub.vpc_id, name, "Gateway")
            if table.id in (e.route_table_ids or [])
        ]
        if service in GATEWAY_SERVICES and gateways:
            yield from _via_gateway_endpoint(ec2, src, sub, table, gateways[0], established)
            return
    purpose = f"{name} (no VPC endpoint for it in {sub.vpc_id} serves {sub.id})"
    yield from _to_internet(ec2, src, HTTPS, established, purpose)


def _via_interface_endpoint(
    ec2: Any, src: Attachment, sub: Any, endpoint: Any, established: bool
) -> Path:
    subnets = [topology.subnet(ec2, s) for s in endpoint.subnet_ids or []]
    yield (
        bool(subnets),
        Hop(
            "vpc-endpoint",
            endpoint.id,
            f"{endpoint.service_name} resolves to this interface endpoint (private DNS)"
            + ("" if subnets else ", which has no subnet"),
        ),
    )
    # AWS's name resolves to every zone's interface; the model takes the caller's zone's.
    nearest = next((s for s in subnets if s.availability_zone == sub.availability_zone), None)
    target = _subnet_end(ec2, nearest or subnets[0], tuple(endpoint.security_group_ids or ()))
    caller = _attachment_end(ec2, src, sub)
    yield from _between(ec2, caller, target, HTTPS, established)


def _via_gateway_endpoint(
    ec2: Any, src: Attachment, sub: Any, table: Any, endpoint: Any, established: bool
) -> Path:
    prefix_list = endpoint.destination_prefix_list_id
    to = f"{endpoint.service_name} ({prefix_list}) to gateway endpoint {endpoint.id}"
    yield True, Hop("route", table.id, to)
    caller = _attachment_end(ec2, src, sub)
    if not established:
        peer = Peer(UNKNOWN_PUBLIC, prefix_list_id=prefix_list)
        yield _sg_step("security-group-egress", caller.groups, egress=True, port=HTTPS, peer=peer)
    yield _acl_step("network-acl-egress", ec2, sub, True, PortRange.single(HTTPS), None)
    yield _acl_step("return-network-acl-ingress", ec2, sub, False, caller.ephemeral, None)
