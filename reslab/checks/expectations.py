"""The expectations file (YAML or JSON): what a restored database must satisfy on its own.

Layout (``schema_version: 1``; every key optional except the version)::

    schema_version: 1
    engine_version: "15"            # target version must equal this or start with "15."
    required_tables: [users, orders]
    min_rows: {orders: 1000}
    allow_shrink: [sessions]        # may shrink or vanish against a previous fingerprint
    freshness:
      - {table: orders, column: created_at, max_lag_seconds: 3600}
    assertions:
      - {name: no negative totals, sql: "SELECT count(*) FROM orders WHERE total < 0", expect: 0}
      - {name: some users, sql: "SELECT count(*) FROM users", expect: {">=": 1}}
    assertion_timeout_seconds: 60
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from reslab.checks.errors import InvalidExpectations

EXPECTATIONS_VERSION = 1

#: Comparison operators allowed in ``expect: {OP: value}``.
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Freshness:
    table: str
    column: str
    max_lag_seconds: float


@dataclass(frozen=True)
class Assertion:
    name: str
    sql: str
    op: str
    value: Any

    def holds(self, measured: Any) -> bool:
        left, right = _comparable(measured), _comparable(self.value)
        try:
            return bool(OPERATORS[self.op](left, right))
        except TypeError:  # e.g. None < 3
            return False

    def describe_expected(self) -> str:
        return f"{self.op} {self.value!r}"


@dataclass(frozen=True)
class Expectations:
    required_tables: tuple[str, ...] = ()
    min_rows: dict[str, int] = field(default_factory=dict)
    allow_shrink: frozenset[str] = frozenset()
    freshness: tuple[Freshness, ...] = ()
    assertions: tuple[Assertion, ...] = ()
    engine_version: str | None = None
    assertion_timeout_seconds: int = 60


_KEYS = {
    "schema_version",
    "engine_version",
    "required_tables",
    "min_rows",
    "allow_shrink",
    "freshness",
    "assertions",
    "assertion_timeout_seconds",
}


def load_expectations(source: str | Path | dict[str, Any] | Expectations | None) -> Expectations:
    """Expectations from a file path (``.yaml``/``.yml``/``.json``), a parsed dict, or None."""
    if source is None:
        return Expectations()
    if isinstance(source, Expectations):
        return source
    if isinstance(source, dict):
        return parse_expectations(source)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidExpectations(f"cannot read {path}: {exc.strerror}") from exc
    return parse_expectations(_decode(path, text))


def _decode(path: Path, text: str) -> dict[str, Any]:
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml  # optional: only YAML files need PyYAML

            data = yaml.safe_load(text)
    except ImportError as exc:
        raise InvalidExpectations(f"{path}: YAML needs PyYAML; use JSON instead") from exc
    except Exception as exc:
        raise InvalidExpectations(f"{path}: not valid {path.suffix[1:] or 'YAML'}: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidExpectations(f"{path}: the top level must be a mapping")
    return data


def parse_expectations(data: dict[str, Any]) -> Expectations:
    version = data.get("schema_version")
    if version != EXPECTATIONS_VERSION:
        raise InvalidExpectations(f"schema_version must be {EXPECTATIONS_VERSION}, got {version!r}")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise InvalidExpectations(f"unknown key(s): {', '.join(unknown)}")
    min_rows = _mapping(data, "min_rows")
    for table, rows in min_rows.items():
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
            raise InvalidExpectations(f"min_rows.{table} must be a non-negative integer")
    engine_version = data.get("engine_version")
    timeout = data.get("assertion_timeout_seconds", 60)
    if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout <= 0:
        raise InvalidExpectations("assertion_timeout_seconds must be a positive integer")
    return Expectations(
        required_tables=tuple(_names(data, "required_tables")),
        min_rows=dict(min_rows),
        allow_shrink=frozenset(_names(data, "allow_shrink")),
        freshness=tuple(_freshness(i, f) for i, f in enumerate(_list(data, "freshness"))),
        assertions=tuple(_assertion(i, a) for i, a in enumerate(_list(data, "assertions"))),
        engine_version=None if engine_version is None else str(engine_version),
        assertion_timeout_seconds=timeout,
    )


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise InvalidExpectations(f"{key} must be a list")
    return value


def _mapping(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise InvalidExpectations(f"{key} must be a mapping of table name to value")
    return value


def _names(data: dict[str, Any], key: str) -> list[str]:
    names = _list(data, key)
    if not all(isinstance(n, str) and n for n in names):
        raise InvalidExpectations(f"{key} must be a list of table names")
    return names


def _fields(where: str, item: Any, required: dict[str, type | tuple[type, ...]]) -> None:
    if not isinstance(item, dict):
        raise InvalidExpectations(f"{where} must be a mapping")
    for key, kind in required.items():
        if not isinstance(item.get(key), kind) or isinstance(item.get(key), bool):
            raise InvalidExpectations(f"{where}.{key} is missing or mistyped")


def _freshness(i: int, item: Any) -> Freshness:
    where = f"freshness[{i}]"
    _fields(where, item, {"table": str, "column": str, "max_lag_seconds": (int, float)})
    extra = set(item) - {"table", "column", "max_lag_seconds"}
    if extra:
        raise InvalidExpectations(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
    return Freshness(item["table"], item["column"], float(item["max_lag_seconds"]))


def _assertion(i: int, item: Any) -> Assertion:
    where = f"assertions[{i}]"
    _fields(where, item, {"name": str, "sql": str})
    if "expect" not in item:
        raise InvalidExpectations(f"{where}.expect is missing")
    extra = set(item) - {"name", "sql", "expect"}
    if extra:
        raise InvalidExpectations(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
    expect = item["expect"]
    op, value = "==", expect
    if isinstance(expect, dict):
        if len(expect) != 1 or next(iter(expect)) not in OPERATORS:
            raise InvalidExpectations(
                f"{where}.expect must be a value or one {{OP: value}} with OP in "
                + " ".join(OPERATORS)
            )
        op, value = next(iter(expect.items()))
    return Assertion(item["name"], item["sql"], op, value)


def _comparable(value: Any) -> Any:
    """Numbers of any DB-API type compare as Decimal; everything else as itself."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    return value
