"""Checks computed from fingerprints alone: target against a live source, a previous
fingerprint, or nothing (then the seed's three values are recorded), plus the table-level
expectations (required tables, minimum rows)."""

from __future__ import annotations

from reslab.checks import catalogue as c
from reslab.checks.expectations import Expectations
from reslab.checks.model import CheckResult, Fingerprint, TableFingerprint


def baseline_checks(
    target: Fingerprint, baseline: Fingerprint | None, mode: str, exp: Expectations
) -> list[CheckResult]:
    """Engine version, table count and user count (the seed's three) against the baseline.

    ``mode`` is ``source`` (must be equal), ``previous`` (nothing may vanish) or ``none``.
    """
    return [
        _version(target, baseline, exp),
        _table_count(target, baseline, mode, exp),
        _user_count(target, baseline, mode),
    ]


def _version(target: Fingerprint, baseline: Fingerprint | None, exp: Expectations) -> CheckResult:
    measured = f"{target.engine} {target.version}"
    if exp.engine_version:
        wanted = exp.engine_version
        ok = target.version == wanted or target.version.startswith(wanted + ".")
        return c.ENGINE_VERSION.result(ok, measured, f"{target.engine} {wanted}[.*]")
    if baseline is None:
        return c.ENGINE_VERSION.result(True, measured, None, "recorded")
    expected = f"{baseline.engine} {baseline.version}"
    return c.ENGINE_VERSION.result(measured == expected, measured, expected)


def _table_count(
    target: Fingerprint, baseline: Fingerprint | None, mode: str, exp: Expectations
) -> CheckResult:
    measured = target.table_count
    if baseline is None:
        return c.TABLE_COUNT.result(True, measured, None, "recorded")
    if mode == "source":
        return c.TABLE_COUNT.result(
            measured == baseline.table_count, measured, baseline.table_count
        )
    may_vanish = len(exp.allow_shrink & set(baseline.tables))
    floor = baseline.table_count - may_vanish
    return c.TABLE_COUNT.result(measured >= floor, measured, f">= {floor}")


def _user_count(target: Fingerprint, baseline: Fingerprint | None, mode: str) -> CheckResult:
    measured = target.user_count
    if measured is None:
        return c.USER_COUNT.skipped(
            "this login may not read the users (MySQL: SELECT on mysql.user)"
        )
    if baseline is None or baseline.user_count is None:
        return c.USER_COUNT.result(True, measured, None, "recorded")
    if baseline.server_id is not None and baseline.server_id == target.server_id:
        note = "recorded: same server as the baseline, so the same (shared) roles"
        return c.USER_COUNT.result(True, measured, None, note)
    if mode == "source":
        ok = measured == baseline.user_count
        return c.USER_COUNT.result(ok, measured, baseline.user_count)
    ok = measured >= baseline.user_count
    return c.USER_COUNT.result(ok, measured, f">= {baseline.user_count}")


def source_checks(source: Fingerprint, target: Fingerprint) -> list[CheckResult]:
    """Schema and data of the target table by table against a live source's fingerprint."""
    missing = sorted(set(source.tables) - set(target.tables))
    extra = sorted(set(target.tables) - set(source.tables))
    details = "; ".join(
        part for part in (_listing("missing", missing), _listing("extra", extra)) if part
    )
    ok = not missing and not extra
    results = [c.TABLES.result(ok, sorted(target.tables), sorted(source.tables), details)]
    for key in sorted(set(source.tables) & set(target.tables)):
        results.extend(_table_checks(key, source.tables[key], target.tables[key]))
    return results


def _table_checks(key: str, src: TableFingerprint, tgt: TableFingerprint) -> list[CheckResult]:
    src_cols = [col.describe() for col in src.columns]
    tgt_cols = [col.describe() for col in tgt.columns]
    src_idx = sorted(i.describe() for i in src.indexes)
    tgt_idx = sorted(i.describe() for i in tgt.indexes)
    results = [
        c.COLUMNS.result(
            src_cols == tgt_cols, tgt_cols, src_cols, _diff(src_cols, tgt_cols), subject=key
        ),
        c.INDEXES.result(
            src_idx == tgt_idx, tgt_idx, src_idx, _diff(src_idx, tgt_idx), subject=key
        ),
    ]
    if src.rows is None and tgt.rows is None:  # partitioned parents: partitions carry the data
        return results
    results.append(c.ROW_COUNT.result(src.rows == tgt.rows, tgt.rows, src.rows, subject=key))
    details = ""
    if src.algorithm != tgt.algorithm:
        details = f"not comparable: algorithm {tgt.algorithm} vs {src.algorithm}"
    elif src_cols != tgt_cols:
        details = "columns differ, and the checksum covers whole rows"
    ok = not details and src.checksum == tgt.checksum
    results.append(c.CHECKSUM.result(ok, tgt.checksum, src.checksum, details, subject=key))
    return results


def previous_checks(
    previous: Fingerprint, target: Fingerprint, exp: Expectations
) -> list[CheckResult]:
    """Without a live source: no table of the previous fingerprint may shrink or vanish,
    unless the expectations list it in ``allow_shrink``."""
    results = []
    for key, before in sorted(previous.tables.items()):
        if before.rows is None:
            continue
        after = target.tables.get(key)
        rows = None if after is None else after.rows
        allowed = key in exp.allow_shrink
        shrunk = rows is None or rows < before.rows
        if not shrunk:
            details = ""
        elif allowed:
            details = "vanished (allowed)" if after is None else "shrank (allowed)"
        else:
            details = "vanished" if after is None else f"shrank by {before.rows - (rows or 0)}"
        ok = allowed or not shrunk
        results.append(c.NOT_SHRUNK.result(ok, rows, f">= {before.rows}", details, subject=key))
    return results


def expectation_checks(target: Fingerprint, exp: Expectations) -> list[CheckResult]:
    """Required tables exist; tables hold at least their minimum rows."""
    results = [
        c.REQUIRED_TABLE.result(
            name in target.tables,
            "present" if name in target.tables else "missing",
            "present",
            subject=name,
        )
        for name in exp.required_tables
    ]
    for name, minimum in exp.min_rows.items():
        table = target.tables.get(name)
        rows = None if table is None else table.rows
        ok = rows is not None and rows >= minimum
        details = "table missing" if table is None else ""
        results.append(c.MIN_ROWS.result(ok, rows, f">= {minimum}", details, subject=name))
    return results


def _listing(label: str, names: list[str]) -> str:
    return f"{label}: {', '.join(names)}" if names else ""


def _diff(expected: list[str], measured: list[str]) -> str:
    if expected == measured:
        return ""
    missing = [x for x in expected if x not in measured]
    extra = [x for x in measured if x not in expected]
    parts = [p for p in (_listing("missing", missing), _listing("extra", extra)) if p]
    return "; ".join(parts) or "order differs"
