"""``AWS::NoValue`` as an element of a list stayed in moto 5.2.5's rendered list as ``None``
(``!If [Cond, {...}, !Ref AWS::NoValue]`` among a policy's statements); AWS removes the element.
web.yaml's instance role got ``None`` statements where its DMS grants are left out (every lab
without a DMS source): a policy document IAM would refuse and the local authorizer cannot read,
so every request of the web instances failed (gap 69)."""

from __future__ import annotations

from typing import Any

_NO_VALUE = {"Ref": "AWS::NoValue"}
_installed = False


def is_no_value(raw: Any, resources_map: Any) -> bool:
    """``raw`` (unrendered) is ``AWS::NoValue``, directly or as the chosen branch of ``Fn::If``."""
    if raw == _NO_VALUE:
        return True
    if isinstance(raw, dict) and list(raw) == ["Fn::If"]:
        condition, when_true, when_false = raw["Fn::If"]
        chosen = when_true if resources_map.lazy_condition_map[condition] else when_false
        return is_no_value(chosen, resources_map)
    return False


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.cloudformation import parsing

    clean_json = parsing.clean_json

    def clean_json_dropping_no_value(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, list):
            resource_json = [v for v in resource_json if not is_no_value(v, resources_map)]
        return clean_json(resource_json, resources_map)

    parsing.clean_json = clean_json_dropping_no_value  # type: ignore[assignment]
    _installed = True
