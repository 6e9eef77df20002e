"""Addresses as the model knows them, and whether a rule's CIDR matches one.

An address is a set of IPv4 addresses: a ``/32`` when the interface's address is known (an EC2
instance), the subnet's CIDR when only the subnet is (a Lambda function's network interface, an
RDS instance, a VPC endpoint), or :data:`UNKNOWN_PUBLIC` for an internet address the model cannot
know (an AWS service's public range, the laptop's IP behind its router). A rule **covers** an
address when it matches every address of the set (an allow needs that), and **touches** it when
it matches at least one (a deny that touches refuses: some connection would be dropped).
The unknown public address is covered and touched only by ``0.0.0.0/0``. IPv6 is not modelled.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

Address = ipaddress.IPv4Network | None
UNKNOWN_PUBLIC: Address = None


def host(ip: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(f"{ip}/32")


def network(cidr: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(cidr, strict=False)


def _rule_network(cidr: Any) -> ipaddress.IPv4Network | None:
    if not cidr:
        return None
    try:
        return network(str(cidr))
    except ValueError:  # an IPv6 CIDR: not modelled
        return None


def _relate(
    cidr: Any,
    address: Address,
    test: Callable[[ipaddress.IPv4Network, ipaddress.IPv4Network], bool],
) -> bool:
    rule = _rule_network(cidr)
    if rule is None:
        return False
    if address is None:
        return rule.prefixlen == 0
    return test(rule, address)


def covers(cidr: Any, address: Address) -> bool:
    return _relate(cidr, address, lambda rule, addr: addr.subnet_of(rule))


def touches(cidr: Any, address: Address) -> bool:
    return _relate(cidr, address, lambda rule, addr: rule.overlaps(addr))


def describe(address: Address) -> str:
    return "an internet address" if address is None else str(address)
