"""``run_checks``: fingerprint the target (and a live source, at the same time), run the live
checks, compare; one CheckReport."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from reslab.checks.compare import (
    baseline_checks,
    expectation_checks,
    previous_checks,
    source_checks,
)
from reslab.checks.connection import describe, is_connection, opened
from reslab.checks.engines import Dialect, dialect_for
from reslab.checks.expectations import Expectations, load_expectations
from reslab.checks.fingerprint import fingerprint_open
from reslab.checks.live import assertion_checks, freshness_checks, parse_time
from reslab.checks.model import CheckReport, CheckResult, Fingerprint
from reslab.checks.timing import StepTimer

FingerprintLike = Fingerprint | dict[str, Any]

#: The timed steps of a run, in the order reports list them, and what each measures. The
#: two readings and the consistency check run at the same time when they can (each timing
#: says when it began).
STEPS: dict[str, str] = {
    "connect": "opening the connections to the databases (at once)",
    "fingerprint.source": "reading the source database: schema, and every table's row count"
    " and content checksum, computed inside the database",
    "fingerprint.target": "the same reading of the restored copy",
    "consistency": "the engine's own integrity check of the restored copy"
    " (PostgreSQL amcheck, MySQL CHECK TABLE)",
    "freshness": "reading the newest value of each column the expectations name",
    "assertions": "running the database owner's SQL assertions on the restored copy",
    "compare": "comparing the two readings (in this program: no database work)",
}


def run_checks(
    source: FingerprintLike | str | Any | None,
    target_url: str | Any,
    expectations: str | Path | dict[str, Any] | Expectations | None = None,
    *,
    snapshot_time: datetime | str | None = None,
    previous: FingerprintLike | None = None,
    snapshot_id: str | None = None,
    source_instance: str | None = None,
    workers: int | None = None,
) -> CheckReport:
    """Check a (restored) target database.

    ``source``: a live database (URL or connection) or its Fingerprint (or ``to_dict()`` of
    one) to compare schema and data with, or None. ``previous``: an earlier Fingerprint; then
    tables may only grow (unless ``allow_shrink``). ``expectations``: a file path, a dict or
    None. ``snapshot_time``: creation time of the snapshot, for the freshness (RPO) checks.
    ``source_instance``: the instance whose backup this is (shown in the report's header).
    ``workers``: server processes per table and side (see ``fingerprint``).

    The live source is read while the target is, on its own connection, and the engine's
    integrity check of a target given by URL runs on a third: the databases do the work in
    parallel, this process only waits.
    """
    exp = load_expectations(expectations)
    taken = parse_time(snapshot_time)
    timer = StepTimer()
    started = _now()
    previous_fp = _as_fingerprint(previous)
    read = _read(source, target_url, exp, taken, workers, timer)
    source_fp, target_fp = read.source, read.target
    checks: list[CheckResult] = []
    with timer.step("compare"):
        mode = "source" if source_fp else "previous" if previous_fp else "none"
        checks += baseline_checks(target_fp, source_fp or previous_fp, mode, exp)
        if source_fp:
            checks += source_checks(source_fp, target_fp)
        if previous_fp:
            checks += previous_checks(previous_fp, target_fp, exp)
        checks += expectation_checks(target_fp, exp)
    checks += [*read.freshness, read.consistency, *read.assertions]
    return CheckReport(
        checks=tuple(checks),
        timings=tuple(sorted(timer.timings, key=lambda t: list(STEPS).index(t.step))),
        engine=target_fp.engine,
        source=read.source_label,
        target=describe(target_url),
        started_at=started,
        finished_at=_now(),
        snapshot_id=snapshot_id,
        snapshot_time=taken.isoformat() if taken else None,
        comparison=mode,
        target_fingerprint=target_fp,
        source_instance=source_instance,
    )


class _Readings(NamedTuple):
    source: Fingerprint | None
    source_label: str | None
    target: Fingerprint
    freshness: list[CheckResult]
    consistency: CheckResult
    assertions: list[CheckResult]


def _read(
    source: Any,
    target_url: Any,
    exp: Expectations,
    taken: datetime | None,
    workers: int | None,
    timer: StepTimer,
) -> _Readings:
    """Everything read from the databases: the live source (if any) and the engine's integrity
    check run in background threads on connections of their own while this thread reads the
    target (a caller's connection is used by one thread only, one step after the other)."""
    live_source = source is not None and not isinstance(source, Fingerprint | dict)
    own_connection = not is_connection(target_url)
    with ExitStack() as stack:
        # every connection first, at once: one that cannot be made fails before any work
        with timer.step("connect"):
            conn, source_conn, check_conn = _connect_all(
                stack,
                target_url,
                source if live_source else None,
                target_url if own_connection else None,
            )
        dialect = dialect_for(conn)
        # entered after the connections, so left (waiting for its threads) before they close
        background = stack.enter_context(ThreadPoolExecutor(max_workers=2))
        parallel_source = source_conn is not None and source_conn is not conn
        source_read = (
            background.submit(_read_source, timer, source, source_conn, workers)
            if parallel_source
            else None
        )
        check = background.submit(_consistency, timer, dialect, check_conn) if check_conn else None
        with timer.step("fingerprint.target"):
            reopen = (lambda: opened(target_url)) if own_connection else None
            target_fp = fingerprint_open(conn, reopen, workers)
        with timer.step("freshness"):
            fresh = freshness_checks(conn, dialect, target_fp, exp, taken)
        with timer.step("assertions"):
            asserted = assertion_checks(conn, dialect, exp)
        consistent = check.result() if check else _consistency(timer, dialect, conn)
        if source_read is not None:
            source_fp, label = source_read.result()
        elif source_conn is not None:
            source_fp, label = _read_source(timer, source, source_conn, workers)
        else:
            source_fp, label = _given_baseline(source)
    return _Readings(source_fp, label, target_fp, fresh, consistent, asserted)


def _connect_all(stack: ExitStack, *databases: Any) -> list[Any]:
    """A connection to each database (None stays None), made in parallel and closed by
    ``stack``; the first error is raised once every attempt has ended."""
    with ThreadPoolExecutor(max_workers=len(databases)) as pool:
        attempts = [None if db is None else pool.submit(_enter, opened(db)) for db in databases]
    connections, errors = [], []
    for attempt in attempts:
        try:
            entered = attempt.result() if attempt else None
        except Exception as exc:
            errors.append(exc)
            entered = None
        if entered is not None:
            stack.push(entered[0])
        connections.append(entered[1] if entered else None)
    if errors:
        raise errors[0]
    return connections


def _enter(manager: AbstractContextManager[Any]) -> tuple[AbstractContextManager[Any], Any]:
    return manager, manager.__enter__()


def _read_source(
    timer: StepTimer, source: Any, conn: Any, workers: int | None
) -> tuple[Fingerprint, str]:
    with timer.step("fingerprint.source"):
        reopen = None if is_connection(source) else lambda: opened(source)
        return fingerprint_open(conn, reopen, workers), describe(source)


def _given_baseline(source: FingerprintLike | None) -> tuple[Fingerprint | None, str | None]:
    fp = _as_fingerprint(source)
    if fp is None:
        return None, None
    return fp, f"fingerprint of {fp.engine} database {fp.database!r} taken {fp.taken_at}"


def _consistency(timer: StepTimer, dialect: Dialect, conn: Any) -> CheckResult:
    with timer.step("consistency"):
        return dialect.consistency(conn)


def _as_fingerprint(value: FingerprintLike | None) -> Fingerprint | None:
    if value is None or isinstance(value, Fingerprint):
        return value
    return Fingerprint.from_dict(value)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
