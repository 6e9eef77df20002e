"""The stack table (``cloudformation/stacks.json``): its ONE reader, used by the Lambdas and by
reslab (deploy, templates tests, fleet, sweep, restore, docs).

In a Lambda zip the table sits beside this module (``reslab.packaging`` copies it in); in the
source tree it is read from ``cloudformation/stacks.json``. Stack names come only from here:
``<stack_prefix><suffix>``, the prefix defaulting to the table's ``default_stack_prefix``.
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
#: The engine of an event without ``engine`` (database.yaml's default).
DEFAULT_ENGINE = "postgres"
#: A row's ``region`` -> the event key naming that region.
REGION_EVENT_KEYS = {"primary": "region_name", "secondary": "secondary_region_name"}
#: A row's ``install_parameters`` setting -> the deploy Lambda's environment variable holding it
#: (set by the installer stack; unset outside an install: the template default applies).
INSTALL_SETTINGS = {
    "lab_boundary": "RESLAB_LAB_BOUNDARY_ARN",
    # the code of the functions the dms stack creates, in the secondary region (Lambda reads
    # code only from its own region): ``reslab install`` with a ``dms: true`` event uploads it
    "dms_code_bucket": "RESLAB_DMS_CODE_BUCKET",
    "dms_code_key": "RESLAB_DMS_CODE_KEY",
}
#: A row's ``region_parameters`` fact -> what the create Lambda reads in the stack's region
#: (``reslab_lambda.cfn.region_facts`` computes them).
REGION_FACTS = {
    "availability_zone_count": "available Availability Zones (EC2 DescribeAvailabilityZones), "
    "capped at 3",
}


class StackTableError(ValueError):
    """The stack table is unreadable or inconsistent (a build error, never an event error)."""


@dataclass(frozen=True)
class StackSpec:
    """One row of the stack table."""

    key: str
    suffix: str
    template: str
    secondary: bool
    depends_on: tuple[str, ...]
    default_prefix: str
    #: Template parameter -> event key (empty event values are not passed).
    event_parameters: Mapping[str, str] = field(default_factory=dict)
    #: The stack is skipped when this event key is missing or empty (``optional`` rows only).
    requires_event_key: str | None = None
    #: The stack is skipped for other database engines (event ``engine``, default
    #: :data:`DEFAULT_ENGINE`); empty = every engine.
    requires_engine: tuple[str, ...] = ()
    #: An event boolean that must be true for the stack to deploy (``dms``: opt-in).
    switch: str | None = None
    #: The output naming a DMS replication task the deploy starts (and waits for its full
    #: load) after CREATE_COMPLETE, and the teardown stops before deleting the stack.
    replication_task_output: str | None = None
    #: The output naming a function the deploy invokes before it starts that task (the DMS
    #: target's preparation: schema and user); a function error fails the deploy.
    replication_preparation_output: str | None = None
    #: Template parameter -> install setting (:data:`INSTALL_SETTINGS`).
    install_parameters: Mapping[str, str] = field(default_factory=dict)
    #: Template parameter -> fact about the stack's region (:data:`REGION_FACTS`).
    region_parameters: Mapping[str, str] = field(default_factory=dict)
    #: ``{"subnets": <output>, "group": <output>}``: once the stack is complete the deploy
    #: attaches the backup-check Lambdas to those subnets with that group (``attach``); the
    #: teardown detaches them before deleting the stack.
    check_vpc: Mapping[str, str] | None = None

    @property
    def optional(self) -> bool:
        return bool(self.requires_event_key or self.requires_engine or self.switch)

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

    def stack_name(self, event: Mapping[str, Any] | None = None) -> str:
        """``<stack_prefix><suffix>``; the prefix is the event's, else the table's default."""
        return f"{(event or {}).get('stack_prefix') or self.default_prefix}{self.suffix}"

    def region(self, event: Mapping[str, Any]) -> str | None:
        """The region the stack lives in; None when the stack is skipped (no secondary)."""
        if self.requires_event_key and not event.get(self.requires_event_key):
            return None
        if self.requires_engine and event_engine(event) not in self.requires_engine:
            return None
        if self.switch and event.get(self.switch) is not True:
            return None
        return str(event["secondary_region_name" if self.secondary else "region_name"])


def event_engine(event: Mapping[str, Any]) -> str:
    """The event's database engine (``engine``, else :data:`DEFAULT_ENGINE`)."""
    return str(event.get("engine") or DEFAULT_ENGINE)


def table_path() -> Path:
    for path in _CANDIDATES:
        if path.exists():
            return path
    raise FileNotFoundError(f"no {TABLE_NAME} in {', '.join(str(p) for p in _CANDIDATES)}")


def _spec(row: Mapping[str, Any], prefix: str) -> StackSpec:
    if row["region"] not in REGION_EVENT_KEYS:
        raise StackTableError(f"stack {row['key']}: region must be primary or secondary")
    return StackSpec(
        key=row["key"],
        suffix=row["suffix"],
        template=row["template"],
        secondary=row["region"] == "secondary",
        depends_on=tuple(row.get("depends_on", ())),
        default_prefix=prefix,
        event_parameters=dict(row.get("event_parameters", {})),
        requires_event_key=row.get("requires_event_key") if row.get("optional") else None,
        requires_engine=tuple(row.get("requires_engine", ())) if row.get("optional") else (),
        switch=row.get("switch") if row.get("optional") else None,
        replication_task_output=row.get("replication_task_output"),
        replication_preparation_output=row.get("replication_preparation_output"),
        install_parameters=_known(row, "install_parameters", INSTALL_SETTINGS),
        region_parameters=_known(row, "region_parameters", REGION_FACTS),
        check_vpc=dict(row["check_vpc"]) if row.get("check_vpc") else None,
    )


def _known(row: Mapping[str, Any], column: str, known: Mapping[str, str]) -> dict[str, str]:
    """The row's ``column`` (parameter -> name), every name one of ``known``."""
    found = dict(row.get(column, {}))
    unknown = sorted(set(found.values()) - set(known))
    if unknown:
        raise StackTableError(f"stack {row['key']}: unknown {column} values {unknown}")
    return found


def parse_table(data: Mapping[str, Any]) -> tuple[StackSpec, ...]:
    """The rows in table order; every dependency must be listed before the stack needing it."""
    specs: list[StackSpec] = []
    for row in data["stacks"]:
        spec = _spec(row, str(data["default_stack_prefix"]))
        seen = {s.key for s in specs}
        if spec.key in seen:
            raise StackTableError(f"stack {spec.key} listed twice")
        missing = [dep for dep in spec.depends_on if dep not in seen]
        if missing:
            raise StackTableError(f"stack {spec.key} depends on {missing}, not listed before it")
        specs.append(spec)
    return tuple(specs)


def read_table(path: Path) -> tuple[StackSpec, ...]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StackTableError(f"cannot read stack table {path}: {exc}") from exc
    return parse_table(data)


@cache
def stack_table() -> tuple[StackSpec, ...]:
    """Every stack in table order (dependencies before dependants)."""
    return read_table(table_path())


def default_stack_prefix() -> str:
    """The prefix of an event without ``stack_prefix`` (the table's ``default_stack_prefix``)."""
    return stack_table()[0].default_prefix


def spec_for(key: str) -> StackSpec:
    for spec in stack_table():
        if spec.key == key:
            return spec
    raise KeyError(f"unknown stack key {key!r}")


def stack_name(key: str, stack_prefix: str | None = None) -> str:
    """The name of stack ``key`` for ``stack_prefix`` (None or empty: the table's default)."""
    return spec_for(key).stack_name({"stack_prefix": stack_prefix})


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
