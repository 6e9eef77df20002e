"""Checks that query the live target: freshness (RPO), engine consistency, extra SQL assertions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from reslab.checks.catalogue import ASSERTION, FRESHNESS
from reslab.checks.engines import Dialect
from reslab.checks.expectations import Expectations, Freshness
from reslab.checks.model import CheckResult, Fingerprint


def freshness_checks(
    conn: Any,
    dialect: Dialect,
    target: Fingerprint,
    exp: Expectations,
    snapshot_time: datetime | None,
) -> list[CheckResult]:
    """Newest value of each named column is at most ``max_lag_seconds`` before the snapshot."""
    reference = snapshot_time or datetime.now(UTC)
    against = "snapshot" if snapshot_time else "now (no snapshot time given)"
    return [_freshness(conn, dialect, target, rule, reference, against) for rule in exp.freshness]


def _freshness(
    conn: Any,
    dialect: Dialect,
    target: Fingerprint,
    rule: Freshness,
    reference: datetime,
    against: str,
) -> CheckResult:
    subject = f"{rule.table}.{rule.column}"
    expected = f"<= {rule.max_lag_seconds:g}s"
    table = target.tables.get(rule.table)
    if table is None or rule.column not in {col.name for col in table.columns}:
        what = "table" if table is None else "column"
        return FRESHNESS.result(False, None, expected, f"{what} not found", subject=subject)
    try:
        newest = as_utc(dialect.newest(conn, table, rule.column))
    except (TypeError, ValueError) as exc:
        return FRESHNESS.result(False, None, expected, str(exc), subject=subject)
    if newest is None:
        return FRESHNESS.result(False, None, expected, "no rows", subject=subject)
    lag = (reference - newest).total_seconds()
    details = f"newest {newest.isoformat()}; {against} {reference.isoformat()}"
    ok = lag <= rule.max_lag_seconds
    return FRESHNESS.result(ok, round(lag, 3), expected, details, subject=subject)


def as_utc(value: Any) -> datetime | None:
    """A timestamp from the database as an aware UTC datetime (naive ones are taken as UTC)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), UTC)  # epoch seconds
    if isinstance(value, str):
        return as_utc(datetime.fromisoformat(value))
    raise TypeError(f"not a timestamp: {type(value).__name__}")


def parse_time(value: datetime | str | None) -> datetime | None:
    """A snapshot time given as a datetime or ISO-8601 text (``Z`` accepted) -> aware UTC."""
    if value is None or isinstance(value, datetime):
        return as_utc(value)
    return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))


def assertion_checks(conn: Any, dialect: Dialect, exp: Expectations) -> list[CheckResult]:
    """Each extra SQL assertion, run alone in a READ ONLY transaction on the target."""
    results = []
    for rule in exp.assertions:
        expected = rule.describe_expected()
        try:
            value = dialect.read_only_scalar(conn, rule.sql, exp.assertion_timeout_seconds)
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            error = f"error: {first}"
            results.append(ASSERTION.result(False, None, expected, error, subject=rule.name))
            continue
        measured = json_safe(value)
        ok = rule.holds(value)
        results.append(ASSERTION.result(ok, measured, expected, rule.sql, subject=rule.name))
    return results


def json_safe(value: Any) -> Any:
    """DB values as JSON-friendly values (exact numbers stay exact as int or text)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
