"""``AWS::NoValue`` as a list item (gap 69 of docs/local-cloud.md).

moto 5.2.5's ``clean_json`` resolves ``{"Ref": "AWS::NoValue"}`` to None and leaves it where it
stands: ``Fn::If [Cond, {...}, !Ref AWS::NoValue]`` among a role's policy statements became a
``null`` statement (``web.yaml``'s ``InstanceRole`` without the DMS mode), a policy IAM would
refuse and the local cloud's authorizer cannot read. CloudFormation removes the item. A
template cannot hold a literal null ("'null' values are not allowed in templates"), so a None
in a resolved list always comes from ``AWS::NoValue``.
"""

from __future__ import annotations

from typing import Any

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.cloudformation import parsing

    clean_json = parsing.clean_json

    def clean_json_without_novalue(resource_json: Any, resources_map: Any) -> Any:
        cleaned = clean_json(resource_json, resources_map)
        if isinstance(resource_json, list) and isinstance(cleaned, list):
            return [item for item in cleaned if item is not None]
        return cleaned

    parsing.clean_json = clean_json_without_novalue
    _installed = True
