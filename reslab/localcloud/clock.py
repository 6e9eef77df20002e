"""Typical AWS durations of stack operations, for ``LocalCloud(time_scale=N)`` benchmarks.

A stack is held in ``CREATE_IN_PROGRESS`` (``DELETE_IN_PROGRESS``) for the largest duration of
the rules its template matches, divided by ``time_scale``. Rules are data: resource type, an
optional predicate on the resource's Properties, seconds to create, seconds to delete.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Props = dict[str, Any]


def _is_replica(props: Props) -> bool:
    return bool(props.get("SourceDBInstanceIdentifier"))


def _is_multi_az(props: Props) -> bool:
    return not _is_replica(props) and str(props.get("MultiAZ", "false")).lower() == "true"


def _is_single_az(props: Props) -> bool:
    return not _is_replica(props) and not _is_multi_az(props)


@dataclass(frozen=True)
class DurationRule:
    label: str
    resource_type: str
    create_s: float
    delete_s: float
    matches: Callable[[Props], bool] = lambda _props: True


#: Observed-on-AWS orders of magnitude (seconds).
RULES: tuple[DurationRule, ...] = (
    DurationRule("rds-replica", "AWS::RDS::DBInstance", 720, 420, _is_replica),
    DurationRule("rds-multi-az", "AWS::RDS::DBInstance", 900, 480, _is_multi_az),
    DurationRule("rds-single-az", "AWS::RDS::DBInstance", 480, 360, _is_single_az),
    DurationRule("web-alb", "AWS::ElasticLoadBalancingV2::LoadBalancer", 300, 240),
    DurationRule("web-asg", "AWS::AutoScaling::AutoScalingGroup", 300, 240),
    DurationRule("vpc-nat", "AWS::EC2::NatGateway", 180, 120),
    DurationRule("vpc", "AWS::EC2::VPC", 60, 60),
    DurationRule("s3", "AWS::S3::Bucket", 60, 30),
)
DEFAULT_SECONDS = 30.0


def typical_seconds(template: dict[str, Any], action: str) -> float:
    """Typical duration of ``action`` ("create" or "delete") for a parsed template."""
    best = 0.0
    for resource in (template.get("Resources") or {}).values():
        props = resource.get("Properties") or {}
        for rule in RULES:
            if rule.resource_type == resource.get("Type") and rule.matches(props):
                best = max(best, rule.create_s if action == "create" else rule.delete_s)
    return best or DEFAULT_SECONDS


def hold_seconds(template: dict[str, Any], action: str, time_scale: float | None) -> float:
    """How long to hold the stack in *_IN_PROGRESS locally (0 when time_scale is None)."""
    if not time_scale:
        return 0.0
    return typical_seconds(template, action) / time_scale
