"""The stack table (``cloudformation/stacks.json``), read the same way by Lambdas and by reslab.

In a Lambda zip the table sits beside this module (``reslab.packaging`` copies it in); in the
source tree it is read from ``cloudformation/stacks.json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

TABLE_NAME = "stacks.json"
_HERE = Path(__file__).resolve().parent
_CANDIDATES = (_HERE / TABLE_NAME, _HERE.parents[2] / "cloudformation" / TABLE_NAME)


@dataclass(frozen=True)
class StackSpec:
    """One row of the stack table."""

    key: str
    suffix: str
    template: str
    secondary: bool
    depends_on: tuple[str, ...]
    #: Template parameter -> event key (empty event values are not passed).
    event_parameters: Mapping[str, str] = field(default_factory=dict)
    #: The stack is skipped when this event key is missing or empty.
    requires_event_key: str | None = None
    default_prefix: str = "Resiliency"

    @property
    def template_file(self) -> str:
        """The template's file name (its key under the event's ``folder``)."""
        return Path(self.template).name

    @property
    def template_path(self) -> str:
        """The template in the source tree, relative to the repository root."""
        return f"cloudformation/{self.template_file}"

    @property
    def label(self) -> str:
        """Name used in state names and progress lines (``VPC``, ``Database``)."""
        return self.suffix

    def stack_name(self, event: Mapping[str, Any]) -> str:
        return f"{event.get('stack_prefix') or self.default_prefix}{self.suffix}"

    def region(self, event: Mapping[str, Any]) -> str | None:
        """The region the stack lives in; None when the stack is skipped (no secondary)."""
        if self.requires_event_key and not event.get(self.requires_event_key):
            return None
        return str(event["secondary_region_name" if self.secondary else "region_name"])


def table_path() -> Path:
    for path in _CANDIDATES:
        if path.exists():
            return path
    raise FileNotFoundError(f"no {TABLE_NAME} in {', '.join(str(p) for p in _CANDIDATES)}")


def parse_table(data: Mapping[str, Any]) -> tuple[StackSpec, ...]:
    prefix = data.get("default_stack_prefix", "Resiliency")
    return tuple(
        StackSpec(
            key=row["key"],
            suffix=row["suffix"],
            template=row["template"],
            secondary=row["region"] == "secondary",
            depends_on=tuple(row.get("depends_on", ())),
            event_parameters=dict(row.get("event_parameters", {})),
            requires_event_key=row.get("requires_event_key") if row.get("optional") else None,
            default_prefix=prefix,
        )
        for row in data["stacks"]
    )


@cache
def stack_table() -> tuple[StackSpec, ...]:
    """Every stack in table order (dependencies before dependants)."""
    return parse_table(json.loads(table_path().read_text(encoding="utf-8")))


def default_stack_prefix() -> str:
    """The prefix of an event without ``stack_prefix`` (the table's ``default_stack_prefix``)."""
    return stack_table()[0].default_prefix


def spec_for(key: str) -> StackSpec:
    for spec in stack_table():
        if spec.key == key:
            return spec
    raise KeyError(f"unknown stack key {key!r}")


def deploy_levels(table: tuple[StackSpec, ...] | None = None) -> list[list[StackSpec]]:
    """Stacks grouped into levels: every stack's dependencies sit in earlier levels."""
    table = stack_table() if table is None else table
    by_key = {spec.key: spec for spec in table}
    level_of: dict[str, int] = {}

    def level(key: str, seen: tuple[str, ...] = ()) -> int:
        if key in seen:
            raise ValueError(f"dependency cycle: {' -> '.join((*seen, key))}")
        if key not in level_of:
            deps = by_key[key].depends_on
            level_of[key] = 1 + max((level(d, (*seen, key)) for d in deps), default=-1)
        return level_of[key]

    for spec in table:
        level(spec.key)
    levels: list[list[StackSpec]] = [[] for _ in range(1 + max(level_of.values(), default=-1))]
    for spec in table:
        levels[level_of[spec.key]].append(spec)
    return levels
