"""The YAML short form ``!Condition Name`` (a condition inside ``Fn::And``/``Fn::Or``/``Fn::Not``)
became ``{"Fn::Condition": "Name"}`` in moto 5.2.5, which its condition evaluation reads as
false: ``!And [!Condition A, !Condition B]`` was false with A and B true, so a resource gated by
it was silently left out. AWS reads it as ``{"Condition": "Name"}``, as here.

The short form ``!GetAtt Resource.Attr.Sub`` was split at every dot (``["Resource", "Attr",
"Sub"]``), so a nested attribute such as ``!GetAtt DB.MasterUserSecret.SecretArn`` failed with
"does not support attribute type MasterUserSecret". AWS splits at the first dot only (attribute
names contain dots), as here."""

from __future__ import annotations

from typing import Any

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.cloudformation import models, responses, utils

    original = utils.yaml_tag_constructor

    def yaml_tag_constructor(loader: Any, tag: Any, node: Any) -> Any:
        if tag == "!Condition":
            return {"Condition": loader.construct_scalar(node)}
        if tag == "!GetAtt" and not isinstance(node.value, list):
            return {"Fn::GetAtt": str(node.value).split(".", 1)}
        return original(loader, tag, node)

    # moto registers the constructor (yaml.add_multi_constructor) on every parse, by the name
    # each module imported: replace it in all three.
    for module in (utils, responses, models):
        module.yaml_tag_constructor = yaml_tag_constructor  # type: ignore[attr-defined]
    _installed = True
