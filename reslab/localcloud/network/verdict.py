"""What the reachability model answers: a path is allowed, or refused at a named hop.

A path is checked as a sequence of steps (a generator of ``(ok, Hop)``), walked in order: the
first step that is not ok refuses the path and is the verdict's :attr:`Verdict.refusal`, so an
error can name the security group, network ACL rule or route table that dropped the traffic.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Hop:
    step: str  # what was checked, e.g. "security-group-ingress" (see docs/network-model.md)
    resource: str  # the AWS resource that decided: sg-..., acl-..., rtb-..., vpc-..., the DB id
    detail: str

    def __str__(self) -> str:
        return f"{self.step} ({self.resource}): {self.detail}"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    hops: tuple[Hop, ...]  # every step checked, in order; when refused the last one refused

    @property
    def refusal(self) -> Hop | None:
        return None if self.allowed else self.hops[-1]

    def explain(self) -> str:
        if self.allowed:
            return "allowed: " + "; ".join(str(h) for h in self.hops)
        return f"refused at {self.refusal}"


@dataclass(frozen=True)
class Decision:
    """What a gate enforces for one caller and destination."""

    new: Verdict  # may a new connection open?
    established: Verdict  # may open connections keep flowing? (routes and network ACLs only)


Step = tuple[bool, Hop]


class MissingResource(LookupError):
    """A subnet, VPC or route table the path needs does not exist (any more)."""

    def __init__(self, kind: str, resource_id: str) -> None:
        super().__init__(f"{kind} {resource_id} does not exist")
        self.kind = kind
        self.resource_id = resource_id


def walk(steps: Iterator[Step]) -> Verdict:
    """Run the steps until one refuses (a resource that is gone refuses too)."""
    hops: list[Hop] = []
    try:
        for ok, hop in steps:
            hops.append(hop)
            if not ok:
                steps.close()
                return Verdict(False, tuple(hops))
    except MissingResource as gone:
        hops.append(Hop("resource", gone.resource_id, str(gone)))
        return Verdict(False, tuple(hops))
    return Verdict(True, tuple(hops))
