"""Security-group rules (stateful, allow-only) and network-ACL entries (stateless, ordered).

Only TCP is modelled (what the lab's clients speak): a rule for ``tcp`` or all protocols whose
port range holds the port. A security group allows when ANY rule of ANY of its groups matches
the peer: a CIDR that covers the peer's address, a referenced group the peer has, or (egress) the
prefix list of a gateway endpoint the traffic goes to. A network ACL decides each port by its
lowest-numbered matching entry; a port no entry allows is denied (the ``*`` rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reslab.localcloud.network.addresses import Address, covers, touches
from reslab.localcloud.network.ports import (
    ALL_PROTOCOLS,
    TCP,
    PortRange,
    ports_of,
    protocol_of,
    subtract,
)


@dataclass(frozen=True)
class Peer:
    """The other end of the traffic a rule is asked about."""

    address: Address
    security_group_ids: frozenset[str] = frozenset()
    prefix_list_id: str | None = None


def _tcp_ports(protocol: Any, low: Any, high: Any) -> PortRange | None:
    name = protocol_of(protocol)
    return ports_of(name, low, high) if name in (TCP, ALL_PROTOCOLS) else None


def _matches_peer(rule: Any, peer: Peer) -> bool:
    if covers((rule.ip_range or {}).get("CidrIp"), peer.address):
        return True
    referenced = (rule.source_group or {}).get("GroupId")
    if referenced and referenced in peer.security_group_ids:
        return True
    return bool(rule.prefix_list_id) and rule.prefix_list_id == peer.prefix_list_id


def allowing_rule(groups: list[Any], *, egress: bool, port: int, peer: Peer) -> Any | None:
    """The first security-group rule that lets TCP ``port`` through to/from ``peer``."""
    for group in groups:
        for rule in group.egress_rules if egress else group.ingress_rules:
            span = _tcp_ports(rule.ip_protocol, rule.from_port, rule.to_port)
            if span is None or not span.low <= port <= span.high:
                continue
            if _matches_peer(rule, peer):
                return rule
    return None


def describe_rule(rule: Any) -> str:
    protocol = protocol_of(rule.ip_protocol)
    ports = ports_of(protocol, rule.from_port, rule.to_port)
    what = protocol if protocol == ALL_PROTOCOLS else f"{protocol}/{ports}"
    peer = (
        (rule.ip_range or {}).get("CidrIp")
        or (rule.source_group or {}).get("GroupId")
        or rule.prefix_list_id
    )
    return f"{rule.group_id} {'egress' if rule.is_egress else 'ingress'} {what} {peer}"


@dataclass(frozen=True)
class AclDecision:
    allowed: bool
    entry: Any | None  # the entry that decided; None: no entry allowed (the "*" rule)
    refused_ports: PortRange | None = None


def _is_true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def acl_decision(acl: Any, *, egress: bool, ports: PortRange, peer: Address) -> AclDecision:
    """Whether ``acl`` lets TCP packets to ``ports`` pass to (egress) or from (ingress) ``peer``.

    Stateless: asked separately for a connection's packets and for its replies."""
    undecided = [ports]
    entries = sorted(
        (e for e in acl.network_acl_entries if _is_true(e.egress) == egress),
        key=lambda e: int(e.rule_number),
    )
    for entry in entries:
        span = _tcp_ports(entry.protocol, entry.port_range_from, entry.port_range_to)
        if span is None or not entry.cidr_block:
            continue
        hit = [r for r in (u.intersection(span) for u in undecided) if r is not None]
        if not hit:
            continue
        if str(entry.rule_action).lower() == "deny":
            if touches(entry.cidr_block, peer):
                return AclDecision(False, entry, hit[0])
        elif covers(entry.cidr_block, peer):
            for taken in hit:
                undecided = subtract(undecided, taken)
            if not undecided:
                return AclDecision(True, entry)
    return AclDecision(False, None, undecided[0])


def describe_entry(entry: Any) -> str:
    if entry is None:
        return "no entry allows it (rule *)"
    protocol = protocol_of(entry.protocol)
    ports = ports_of(protocol, entry.port_range_from, entry.port_range_to)
    return (
        f"rule {int(entry.rule_number)} {str(entry.rule_action).lower()} "
        f"{protocol if protocol == ALL_PROTOCOLS else f'{protocol}/{ports}'} {entry.cidr_block}"
    )
