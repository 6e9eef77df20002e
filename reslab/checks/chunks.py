"""Summarise one big table in key ranges on parallel connections, then add the parts up.

Row counts and checksums are sums, so the parts add up to exactly the whole-table values. Each
worker reads its range in its own read-only snapshot; on a database being written to the
ranges are read at slightly different instants (a restored target is idle: no difference).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any

from reslab.checks.engines import Dialect
from reslab.checks.model import TableFingerprint

Opener = Callable[[], AbstractContextManager[Any]]

#: Tables whose key spans fewer values are summarised in one statement.
MIN_SPAN = 200_000
#: Server processes per table when the caller names no number. One: ``run_checks`` already
#: reads the source, the target and the target's integrity check at once, and that check is
#: the longest of the three, so splitting the others only takes cores from it (measured:
#: ``python -m bench dbdiff``, ``db-diff --workers 2`` against the default). More pays when
#: the servers have idle cores to spare (e.g. source and target on different machines).
DEFAULT_WORKERS = 1


def split(low: int, high: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous inclusive ranges covering ``low..high`` (fewer if it is short)."""
    span = high - low + 1
    parts = max(1, min(parts, span))
    step = -(-span // parts)  # ceiling division
    return [(start, min(start + step - 1, high)) for start in range(low, high + 1, step)]


def summarise_in_ranges(
    dialect: Dialect,
    opener: Opener,
    table: TableFingerprint,
    column: str,
    bounds: tuple[int, int],
    workers: int,
) -> tuple[int, str, str]:
    def one(bounds: tuple[int, int]) -> tuple[int, str, str]:
        with opener() as conn:
            dialect.prepare(conn)
            dialect.begin_snapshot(conn)
            try:
                data = dialect.table_data(conn, table, (column, *bounds))
            finally:
                dialect.end_snapshot(conn)
        assert data is not None
        return data

    ranges = split(*bounds, workers)
    with ThreadPoolExecutor(max_workers=len(ranges)) as pool:
        parts = list(pool.map(one, ranges))
    algorithms = {algorithm for _, _, algorithm in parts}
    if len(algorithms) != 1:
        raise RuntimeError(f"workers used different checksum algorithms: {sorted(algorithms)}")
    rows = sum(r for r, _, _ in parts)
    checksum = sum(int(c) for _, c, _ in parts)
    return rows, str(checksum), algorithms.pop()
