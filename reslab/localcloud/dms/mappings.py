"""AWS DMS table mappings: the JSON rules that choose what a task replicates.

Only ``selection`` rules change what is replicated; AWS's semantics::

    {"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "hits",
                "object-locator": {"schema-name": "resiliency", "table-name": "%"},
                "rule-action": "include"}]}

A table is replicated when an ``include`` (or ``explicit``) rule matches it and no ``exclude``
rule does; ``%`` matches any run of characters (``explicit`` takes no wildcard); names compare
case-sensitively, as on a case-sensitive MySQL file system. ``table-settings`` rules (parallel
load) change how, not what: accepted and ignored. ``transformation`` rules (renames, added
columns) are refused with :class:`UnsupportedTableMapping` rather than silently not applied.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from reslab.localcloud.dms.errors import InvalidTableMappings, UnsupportedTableMapping

_ACTIONS = {"include", "exclude", "explicit"}
_RULE_TYPES = {"selection", "transformation", "table-settings"}


@dataclass(frozen=True)
class SelectionRule:
    rule_id: str
    name: str
    schema: str
    table: str
    action: str

    def matches(self, schema: str, table: str) -> bool:
        if self.action == "explicit":
            return (schema, table) == (self.schema, self.table)
        return _like(self.schema, schema) and _like(self.table, table)


def _like(pattern: str, value: str) -> bool:
    regex = "".join(".*" if part == "%" else re.escape(part) for part in re.split("(%)", pattern))
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


@dataclass(frozen=True)
class TableMappings:
    rules: tuple[SelectionRule, ...]

    def selects(self, schema: str, table: str) -> bool:
        included = any(r.matches(schema, table) for r in self.rules if r.action != "exclude")
        excluded = any(r.matches(schema, table) for r in self.rules if r.action == "exclude")
        return included and not excluded

    def schemas(self) -> set[str]:
        """Schema names or patterns of the include rules (what a source must read)."""
        return {r.schema for r in self.rules if r.action != "exclude"}


def parse_table_mappings(text: str | dict[str, Any]) -> TableMappings:
    """Validate ``TableMappings`` as AWS does at CreateReplicationTask; :class:`TableMappings`."""
    try:
        doc = json.loads(text) if isinstance(text, str) else text
    except json.JSONDecodeError as exc:
        raise InvalidTableMappings(f"TableMappings is not valid JSON: {exc.msg}") from None
    rules = doc.get("rules") if isinstance(doc, dict) else None
    if not isinstance(rules, list) or not rules:
        raise InvalidTableMappings("TableMappings must be an object with a non-empty 'rules' list")
    selections = [_rule(rule, index) for index, rule in enumerate(rules, 1)]
    chosen = tuple(r for r in selections if r is not None)
    ids = [r.rule_id for r in chosen]
    if len(set(ids)) != len(ids):
        raise InvalidTableMappings("Error in mapping rules: rule-id values must be unique")
    if not any(r.action != "exclude" for r in chosen):
        raise InvalidTableMappings("Error in mapping rules: no selection rule includes a table")
    return TableMappings(chosen)


def _rule(rule: Any, index: int) -> SelectionRule | None:
    if not isinstance(rule, dict):
        raise InvalidTableMappings(f"Error in mapping rules: rule {index} is not an object")
    rule_id = str(rule.get("rule-id", ""))
    where = f"Rule with ruleId = {rule_id or '?'}"
    kind = rule.get("rule-type")
    if kind not in _RULE_TYPES:
        raise InvalidTableMappings(f"{where} failed validation: unknown rule-type {kind!r}")
    if not rule_id or not rule.get("rule-name"):
        raise InvalidTableMappings(f"{where} failed validation: rule-id and rule-name required")
    if kind == "transformation":
        raise UnsupportedTableMapping(
            f"{where}: transformation rules are not applied by the local replication engine"
        )
    if kind == "table-settings":
        return None
    action = rule.get("rule-action")
    locator = rule.get("object-locator")
    if action not in _ACTIONS:
        raise InvalidTableMappings(f"{where} failed validation: unknown rule-action {action!r}")
    if not isinstance(locator, dict) or not locator.get("schema-name"):
        raise InvalidTableMappings(f"{where} failed validation: object-locator needs schema-name")
    table = locator.get("table-name", "%")
    if action == "explicit" and "%" in f"{locator['schema-name']}{table}":
        raise InvalidTableMappings(f"{where} failed validation: explicit takes no wildcard")
    return SelectionRule(rule_id, str(rule["rule-name"]), locator["schema-name"], table, action)


def schema_mappings(schema: str, tables: tuple[str, ...] = ("%",)) -> str:
    """The TableMappings JSON that includes ``tables`` of ``schema`` (one rule per table)."""
    rules = [
        {
            "rule-type": "selection",
            "rule-id": str(index),
            "rule-name": f"include-{table.replace('%', 'all')}",
            "object-locator": {"schema-name": schema, "table-name": table},
            "rule-action": "include",
        }
        for index, table in enumerate(tables, 1)
    ]
    return json.dumps({"rules": rules}, indent=2)
