"""moto 5.2.5 computes the exports of EVERY output, also of one whose ``Condition`` is false
(``OutputMap.exports`` skips the check ``parse_output`` makes): the value of such an output
names a resource that was never created, and the stack fails (``'NoneType' object has no
attribute 'split'`` for ``!Select [6, !Split [":", !Ref Missing]]``). AWS exports only the
outputs that exist (database.yaml's ``DmsSourceSecretArn``: MySQL with a secondary region)."""

from __future__ import annotations

from typing import Any

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.cloudformation import parsing
    from moto.cloudformation.parsing import Export, OutputMap

    def exports(self: Any) -> list[Any]:
        found = []
        conditions = self._resource_map.lazy_condition_map
        for value in (self._output_json_map or {}).values():
            if not value.get("Export"):
                continue
            if "Condition" in value and not conditions.get(value["Condition"]):
                continue
            name = parsing.clean_json(value["Export"].get("Name"), self._resource_map)
            found.append(
                Export(
                    self._stack_id, name, parsing.clean_json(value.get("Value"), self._resource_map)
                )
            )
        return found

    OutputMap.exports = property(exports)  # type: ignore[assignment]
    _installed = True
