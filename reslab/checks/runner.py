"""``run_checks``: fingerprint the target, compare, then run the live checks; one CheckReport."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reslab.checks.compare import (
    baseline_checks,
    expectation_checks,
    previous_checks,
    source_checks,
)
from reslab.checks.connection import describe, is_connection, opened
from reslab.checks.engines import dialect_for
from reslab.checks.expectations import Expectations, load_expectations
from reslab.checks.fingerprint import fingerprint, fingerprint_open
from reslab.checks.live import assertion_checks, freshness_checks, parse_time
from reslab.checks.model import CheckReport, CheckResult, Fingerprint
from reslab.checks.timing import StepTimer

FingerprintLike = Fingerprint | dict[str, Any]


def run_checks(
    source: FingerprintLike | str | Any | None,
    target_url: str | Any,
    expectations: str | Path | dict[str, Any] | Expectations | None = None,
    *,
    snapshot_time: datetime | str | None = None,
    previous: FingerprintLike | None = None,
    snapshot_id: str | None = None,
) -> CheckReport:
    """Check a (restored) target database.

    ``source``: a live database (URL or connection) or its Fingerprint (or ``to_dict()`` of
    one) to compare schema and data with, or None. ``previous``: an earlier Fingerprint; then
    tables may only grow (unless ``allow_shrink``). ``expectations``: a file path, a dict or
    None. ``snapshot_time``: creation time of the snapshot, for the freshness (RPO) checks.
    """
    exp = load_expectations(expectations)
    taken = parse_time(snapshot_time)
    timer = StepTimer()
    started = _now()
    source_fp, source_label = _baseline(source, timer)
    previous_fp = _as_fingerprint(previous)
    checks: list[CheckResult] = []
    with opened(target_url) as conn:
        dialect = dialect_for(conn)
        with timer.step("fingerprint.target"):
            reopen = None if is_connection(target_url) else lambda: opened(target_url)
            target_fp = fingerprint_open(conn, reopen)
        with timer.step("compare"):
            mode = "source" if source_fp else "previous" if previous_fp else "none"
            checks += baseline_checks(target_fp, source_fp or previous_fp, mode, exp)
            if source_fp:
                checks += source_checks(source_fp, target_fp)
            if previous_fp:
                checks += previous_checks(previous_fp, target_fp, exp)
            checks += expectation_checks(target_fp, exp)
        with timer.step("freshness"):
            checks += freshness_checks(conn, dialect, target_fp, exp, taken)
        with timer.step("consistency"):
            checks.append(dialect.consistency(conn, list(target_fp.tables.values())))
        with timer.step("assertions"):
            checks += assertion_checks(conn, dialect, exp)
    return CheckReport(
        checks=tuple(checks),
        timings=tuple(timer.timings),
        engine=target_fp.engine,
        source=source_label,
        target=describe(target_url),
        started_at=started,
        finished_at=_now(),
        snapshot_id=snapshot_id,
        snapshot_time=taken.isoformat() if taken else None,
        comparison=mode,
        target_fingerprint=target_fp,
    )


def _baseline(source: Any, timer: StepTimer) -> tuple[Fingerprint | None, str | None]:
    if source is None:
        return None, None
    if isinstance(source, Fingerprint | dict):
        fp = _as_fingerprint(source)
        assert fp is not None
        return fp, f"fingerprint of {fp.engine} database {fp.database!r} taken {fp.taken_at}"
    with timer.step("fingerprint.source"):
        fp = fingerprint(source)
    return fp, describe(source)


def _as_fingerprint(value: FingerprintLike | None) -> Fingerprint | None:
    if value is None or isinstance(value, Fingerprint):
        return value
    return Fingerprint.from_dict(value)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
