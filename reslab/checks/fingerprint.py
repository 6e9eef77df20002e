"""``fingerprint(conn_or_url)``: engine, version, users, schema and per-table data checksums.

All data summaries are computed inside the database inside one read-only snapshot transaction:
no row travels to Python. See docs/checks.md for the checksum algorithms and their limits.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from reslab.checks.chunks import DEFAULT_WORKERS, MIN_SPAN, Opener, summarise_in_ranges
from reslab.checks.connection import is_connection, opened
from reslab.checks.engines import dialect_for
from reslab.checks.model import Fingerprint, table_key
from reslab.checks.timing import StepTimer


def fingerprint(conn_or_url: Any, *, workers: int | None = None) -> Fingerprint:
    """Fingerprint a database given by URL (opened and closed here) or by an open connection.

    A psycopg connection is switched to autocommit when idle; a PyMySQL session gets
    ``time_zone = '+00:00'``. ``workers`` (default ``DEFAULT_WORKERS``) is how many server
    processes may read one table: PostgreSQL's parallel query (the leader and ``workers - 1``
    parallel workers); for MySQL, given a URL, big tables with an integer primary key are
    summarised in that many key ranges on parallel connections.
    """
    with opened(conn_or_url) as conn:
        opener = None if is_connection(conn_or_url) else lambda: opened(conn_or_url)
        return fingerprint_open(conn, opener, workers)


def fingerprint_open(
    conn: Any, opener: Opener | None = None, workers: int | None = None
) -> Fingerprint:
    workers = workers or DEFAULT_WORKERS
    dialect = dialect_for(conn)
    timer = StepTimer()
    dialect.prepare(conn)
    taken_at = datetime.now(UTC).isoformat(timespec="seconds")
    dialect.begin_snapshot(conn, workers)
    try:
        with timer.step("metadata"):
            version = dialect.version(conn)
            database = dialect.database(conn)
            users = dialect.user_count(conn)
            server = dialect.server_id(conn)
        with timer.step("schema"):
            tables = dialect.tables(conn)
        with timer.step("data"):
            summarised = {}
            for table in tables:
                key = dialect.chunk_key(table) if opener and workers > 1 else None
                bounds = dialect.key_bounds(conn, table, key) if key else None
                if key and bounds and bounds[1] - bounds[0] >= MIN_SPAN:
                    assert opener is not None
                    data = summarise_in_ranges(dialect, opener, table, key, bounds, workers)
                else:
                    data = dialect.table_data(conn, table)
                if data is not None:
                    rows, checksum, algorithm = data
                    table = replace(table, rows=rows, checksum=checksum, algorithm=algorithm)
                summarised[table_key(dialect.engine, table.schema, table.name)] = table
    finally:
        dialect.end_snapshot(conn)
    return Fingerprint(
        engine=dialect.engine,
        version=version,
        database=database,
        user_count=users,
        tables=dict(sorted(summarised.items())),
        taken_at=taken_at,
        timings=timer.as_dict(),
        server_id=server,
    )
