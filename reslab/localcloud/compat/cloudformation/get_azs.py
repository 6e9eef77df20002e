"""``Fn::GetAZs ""`` in moto 5.2.5 gave us-east-1's zones in every region; AWS gives the zones
of the stack's region (the lab's subnets and outputs depend on it)."""

from __future__ import annotations

from typing import Any

_installed = False


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
            return [f"{region}{az}" for az in ("a", "b", "c")]
        return clean_json(resource_json, resources_map)

    parsing.clean_json = clean_json_with_region_azs
    _installed = True
