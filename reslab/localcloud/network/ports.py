"""Port ranges and protocols as security-group rules and network-ACL entries state them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TCP = "tcp"
ALL_PROTOCOLS = "all"
_PROTOCOLS = {
    "-1": ALL_PROTOCOLS,
    "all": ALL_PROTOCOLS,
    "6": TCP,
    "tcp": TCP,
    "17": "udp",
    "udp": "udp",
    "1": "icmp",
    "icmp": "icmp",
}


@dataclass(frozen=True, order=True)
class PortRange:
    """``low``..``high`` inclusive."""

    low: int
    high: int

    def __post_init__(self) -> None:
        if not 0 <= self.low <= self.high <= 65535:
            raise ValueError(f"not a port range: {self.low}-{self.high}")

    @classmethod
    def single(cls, port: int) -> PortRange:
        return cls(port, port)

    def intersection(self, other: PortRange) -> PortRange | None:
        low, high = max(self.low, other.low), min(self.high, other.high)
        return PortRange(low, high) if low <= high else None

    def __str__(self) -> str:
        return str(self.low) if self.low == self.high else f"{self.low}-{self.high}"


ALL_PORTS = PortRange(0, 65535)
#: Where replies to a client's connection are addressed (network ACLs are stateless, so the
#: return path must allow these). Amazon Linux instances use Linux's 32768-60999.
EPHEMERAL_LINUX = PortRange(32768, 60999)
#: AWS documents 1024-65535 for Lambda functions and NAT gateways; also used for clients
#: whose operating system the model does not know (the laptop, services on the internet).
EPHEMERAL_ANY = PortRange(1024, 65535)
HTTPS = 443


def protocol_of(value: Any) -> str:
    """``tcp``, ``udp``, ``icmp``, ``all`` (from the names and numbers EC2 accepts)."""
    text = str(value).strip().lower()
    return _PROTOCOLS.get(text, text)


def ports_of(protocol: str, low: Any, high: Any) -> PortRange:
    """The ports a rule covers: every port for ``all`` or when the rule gives none."""
    if protocol == ALL_PROTOCOLS or low is None or high is None:
        return ALL_PORTS
    low, high = int(low), int(high)
    if low == -1 and high == -1:  # EC2's spelling of "all ports"
        return ALL_PORTS
    return PortRange(low, high)


def subtract(ranges: list[PortRange], taken: PortRange) -> list[PortRange]:
    """``ranges`` without the ports of ``taken``."""
    left: list[PortRange] = []
    for r in ranges:
        if r.intersection(taken) is None:
            left.append(r)
            continue
        if r.low < taken.low:
            left.append(PortRange(r.low, taken.low - 1))
        if taken.high < r.high:
            left.append(PortRange(taken.high + 1, r.high))
    return left
