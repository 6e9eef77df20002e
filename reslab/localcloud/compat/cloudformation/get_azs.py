"""``Fn::GetAZs ""`` in moto 5.2.5 gave us-east-1's zones ``a``-``d`` in every region; AWS gives
the available Availability Zones of the stack's region, as EC2's DescribeAvailabilityZones lists
them: two in a two-AZ region such as us-west-1, ``a``/``c``/``d`` in ap-northeast-1 (the lab's
subnets and outputs depend on it)."""

from __future__ import annotations

from typing import Any

_installed = False


def region_zones(account_id: str, region: str) -> list[str]:
    """The region's available Availability Zones, from moto's EC2 backend (its per-region
    table, the one DescribeAvailabilityZones answers from)."""
    from moto.ec2.models import ec2_backends

    zones = ec2_backends[account_id][region].describe_availability_zones(
        filters={"state": ["available"], "zone-type": ["availability-zone"]}  # type: ignore[arg-type]
    )
    return [zone.name for zone in zones]


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.cloudformation import parsing

    clean_json = parsing.clean_json

    def clean_json_with_region_azs(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::GetAZs" in resource_json:
            region = resource_json["Fn::GetAZs"]
            if isinstance(region, dict):
                region = clean_json(region, resources_map)
            if not region:
                region = resources_map["AWS::Region"]
            return region_zones(resources_map["AWS::AccountId"], region)
        return clean_json(resource_json, resources_map)

    parsing.clean_json = clean_json_with_region_azs
    _installed = True
