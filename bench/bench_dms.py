"""The local DMS engine: full-load rows/s, and CDC lag p50/p99 of rows written at a steady rate.

Per engine (MySQL: a private binlog MariaDB; PostgreSQL: an embedded cluster with
wal_level=logical), on the lab's ``hits`` table:

1. ROWS rows are put in the source, then a full-load-and-CDC task starts: full-load rows/s =
   FullLoadRows / (FullLoadEndTime - FullLoadStartTime). Baseline, same run: a plain copy by
   one client (SELECT everything, INSERT in batches of CommitRate) into another database.
2. ROWS more rows are written at RATE rows/s (transactions of BATCH rows, evenly spaced). Each
   row's lag = when the target committed it (the task's observer) - when the source committed
   it (the writer's clock after COMMIT). p50 and p99 over all rows; baseline: the writer's
   commit interval (BATCH / RATE), the spacing of the changes themselves.
3. MySQL, the lab's path (docs/dms.md: the task reads the read replica): the rows are written on
   a primary, a replica follows it (GTID, ``log_slave_updates``, ``BinlogServer.follow()``, as
   ``dbbacking.PRIVATE_MYSQL`` runs an RDS read replica) and the task reads the replica's binlog.
   Lag = primary COMMIT to target COMMIT, so it includes the replica's apply; baseline: the
   direct lag of phase 2 in the same run (ratio = what the replica hop costs).

    .venv/bin/python -m bench.bench_dms          # alone (prints its table)
    .venv/bin/python -m bench dms                # with the others, once registered
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.result import BenchResult
from reslab.checks.quoting import quote_ident
from reslab.dburl import DbTarget, connect, parse_db_url
from reslab.localcloud.binlog_server import BinlogServer
from reslab.localcloud.dms import ReplicationTask, TaskSettings, parse_table_mappings
from reslab.localcloud.dms.mappings import schema_mappings
from reslab.localcloud.dms.model import Change
from reslab.localcloud.logical_postgres import logical_server
from webapp.schema import statements

ROWS = int(os.environ.get("RESLAB_BENCH_DMS_ROWS", "100000"))
RATE = float(os.environ.get("RESLAB_BENCH_DMS_RATE", "2000"))
BATCH = 20
COMMIT_RATE = 10000
SCHEMA_DIR = Path(__file__).resolve().parents[1] / "webapp" / "schema"
COLUMNS = ("hit_id", "client_ip", "user_agent", "hit_time", "instance_id", "availability_zone")


def _row() -> tuple[Any, ...]:
    now = datetime.now(UTC).replace(tzinfo=None)
    return (uuid.uuid4().hex, "203.0.113.7", "bench", now, "i-bench", "az-a")


def _insert_sql(engine: str) -> str:
    names = ", ".join(quote_ident(engine, c) for c in COLUMNS)
    return f"INSERT INTO hits ({names}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"  # noqa: S608


def _schema(db: DbTarget) -> None:
    conn = connect(db)
    try:
        with conn.cursor() as cur:
            for statement in statements((SCHEMA_DIR / f"{db.engine}.sql").read_text()):
                cur.execute(statement)
    finally:
        conn.close()


@contextmanager
def _databases(engine: str, stack: ExitStack) -> Iterator[tuple[DbTarget, DbTarget, DbTarget]]:
    """Source on one server that can feed CDC; target and plain copy on another (as on AWS,
    where the target is another instance: its writes never reach the source's log)."""
    root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-dms-")))
    dbs: list[DbTarget] = []
    for server, names in (("source", ("bench_src",)), ("target", ("bench_tgt", "bench_copy"))):
        if engine == "mysql":
            mariadb = stack.enter_context(BinlogServer(root / server))
            dbs += [parse_db_url(mariadb.create_database(name)) for name in names]
            continue
        admin = stack.enter_context(logical_server(root / server))
        with connect(admin) as conn:
            for name in names:
                conn.execute(f"CREATE DATABASE {name}")
        dbs += [admin.with_dbname(name) for name in names]
    for db in dbs:
        _schema(db)
    yield dbs[0], dbs[1], dbs[2]


@contextmanager
def _replica_chain(stack: ExitStack) -> Iterator[tuple[DbTarget, DbTarget, DbTarget]]:
    """MySQL primary (written), its following replica (read by the task), and the target."""
    root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-dms-replica-")))
    primary = stack.enter_context(BinlogServer(root / "primary"))
    replica = stack.enter_context(BinlogServer(root / "replica"))
    target_server = stack.enter_context(BinlogServer(root / "target"))
    replica.follow(primary)
    source = parse_db_url(primary.create_database("bench_src"))
    target = parse_db_url(target_server.create_database("bench_tgt"))
    for db in (source, target):
        _schema(db)
    yield source, parse_db_url(replica.admin_url("bench_src")), target


def _wait_for_rows(db: DbTarget, rows: int, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        conn = connect(db)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM hits")
                if cur.fetchone()[0] >= rows:
                    return
        finally:
            conn.close()
        if time.monotonic() > deadline:
            raise RuntimeError(f"the replica did not hold {rows} rows within {timeout_s:.0f} s")
        time.sleep(0.2)


def _fill(db: DbTarget, rows: int) -> None:
    conn = connect(db, autocommit=False)
    try:
        with conn.cursor() as cur:
            for start in range(0, rows, COMMIT_RATE):
                cur.executemany(
                    _insert_sql(db.engine),
                    [_row() for _ in range(start, min(rows, start + COMMIT_RATE))],
                )
                conn.commit()
    finally:
        conn.close()


def _plain_copy(source: DbTarget, copy: DbTarget) -> float:
    """rows/s of one client copying the table: the baseline of the full load."""
    names = ", ".join(quote_ident(source.engine, c) for c in COLUMNS)
    reader, writer = connect(source, autocommit=False), connect(copy, autocommit=False)
    started, copied = time.perf_counter(), 0
    try:
        with reader.cursor() as read, writer.cursor() as write:
            read.execute(f"SELECT {names} FROM hits")  # noqa: S608 - quoted identifiers
            while chunk := read.fetchmany(COMMIT_RATE):
                write.executemany(_insert_sql(copy.engine), [tuple(r) for r in chunk])
                writer.commit()
                copied += len(chunk)
    finally:
        reader.close()
        writer.close()
    return copied / (time.perf_counter() - started)


class _LagMeter:
    """Source commit time per hit_id (the writer) and target commit time (the observer),
    joined once both are done (the target may commit a row before the writer noted its time)."""

    def __init__(self) -> None:
        self.committed: dict[str, float] = {}
        self.applied: dict[str, float] = {}
        self.lock = threading.Lock()

    def observe(self, changes: list[Change], applied_at: float) -> None:
        with self.lock:
            for change in changes:
                hit = (change.after or {}).get("hit_id")
                if hit:
                    self.applied[str(hit).strip()] = applied_at

    def lags(self) -> list[float]:
        """Seconds from source commit to target commit of every row written steadily."""
        with self.lock:
            return [
                self.applied[hit] - at for hit, at in self.committed.items() if hit in self.applied
            ]

    def write_steadily(self, db: DbTarget, rows: int) -> None:
        conn = connect(db, autocommit=False)
        interval, started = BATCH / RATE, time.perf_counter()
        try:
            with conn.cursor() as cur:
                for number, start in enumerate(range(0, rows, BATCH)):
                    pause = started + number * interval - time.perf_counter()
                    if pause > 0:
                        time.sleep(pause)
                    batch = [_row() for _ in range(start, min(rows, start + BATCH))]
                    cur.executemany(_insert_sql(db.engine), batch)
                    conn.commit()
                    now = time.time()
                    with self.lock:
                        self.committed.update((row[0], now) for row in batch)
        finally:
            conn.close()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure(engine: str) -> list[BenchResult]:
    with ExitStack() as stack:
        source, target, copy = stack.enter_context(_databases(engine, stack))
        _fill(source, ROWS)
        meter = _LagMeter()
        schema = source.dbname if engine == "mysql" else "public"
        task = ReplicationTask(
            f"bench-{engine}",
            source,
            target,
            parse_table_mappings(schema_mappings(schema, ("hits",))),
            settings=TaskSettings(prep_mode="TRUNCATE_BEFORE_LOAD", commit_rate=COMMIT_RATE),
            target_schema=target.dbname if engine == "mysql" else None,
            observer=meter.observe,
        )
        task.start()
        task.wait_until_loaded(600)
        [stats] = task.table_statistics()
        load_rate = stats["FullLoadRows"] / (stats["FullLoadEndTime"] - stats["FullLoadStartTime"])
        copy_rate = _plain_copy(source, copy)
        meter.write_steadily(source, ROWS)
        task.wait_until_caught_up(600)
        task.stop()
        task.delete()
        lags = meter.lags()
        if len(lags) != ROWS:
            raise RuntimeError(f"{engine}: {len(lags)} of {ROWS} changes observed")
    lags_ms = [lag * 1000 for lag in lags]
    spacing_ms = 1000 * BATCH / RATE
    return [
        BenchResult(f"dms_{engine}_full_load", load_rate, "rows/s", "plain client copy", copy_rate),
        BenchResult(
            f"dms_{engine}_cdc_lag_p50",
            _percentile(lags_ms, 0.50),
            "ms",
            f"commit interval ({RATE:.0f} rows/s)",
            spacing_ms,
        ),
        BenchResult(
            f"dms_{engine}_cdc_lag_p99",
            _percentile(lags_ms, 0.99),
            "ms",
            f"commit interval ({RATE:.0f} rows/s)",
            spacing_ms,
        ),
        BenchResult(
            f"dms_{engine}_cdc_lag_mean",
            statistics.fmean(lags_ms),
            "ms",
            f"commit interval ({RATE:.0f} rows/s)",
            spacing_ms,
        ),
    ]


def measure_via_replica(direct: list[BenchResult]) -> list[BenchResult]:
    """Phase 3: CDC lag from the primary through its replica to the target."""
    with ExitStack() as stack:
        source, replica, target = stack.enter_context(_replica_chain(stack))
        _fill(source, ROWS)
        _wait_for_rows(replica, ROWS)
        meter = _LagMeter()
        task = ReplicationTask(
            "bench-mysql-via-replica",
            replica,
            target,
            parse_table_mappings(schema_mappings(replica.dbname, ("hits",))),
            settings=TaskSettings(prep_mode="TRUNCATE_BEFORE_LOAD", commit_rate=COMMIT_RATE),
            target_schema=target.dbname,
            observer=meter.observe,
        )
        task.start()
        task.wait_until_loaded(600)
        meter.write_steadily(source, ROWS)
        _wait_for_rows(replica, 2 * ROWS)
        task.wait_until_caught_up(600)
        task.stop()
        task.delete()
        lags_ms = [lag * 1000 for lag in meter.lags()]
        if len(lags_ms) != ROWS:
            raise RuntimeError(f"via replica: {len(lags_ms)} of {ROWS} changes observed")
    by_name = {r.name: r.value for r in direct}
    return [
        BenchResult(
            f"dms_mysql_via_replica_cdc_lag_{label}",
            _percentile(lags_ms, fraction),
            "ms",
            f"direct from the source (p{label[1:]}, same run)",
            by_name[f"dms_mysql_cdc_lag_{label}"],
        )
        for label, fraction in (("p50", 0.50), ("p99", 0.99))
    ]


def run() -> list[BenchResult]:
    mysql = measure("mysql")
    return [*mysql, *measure_via_replica(mysql), *measure("postgres")]


if __name__ == "__main__":
    for result in run():
        print(
            f"{result.name:28} {result.value:12.1f} {result.unit:7} "
            f"(baseline {result.baseline}: {result.baseline_value:.1f}, ratio {result.ratio:.3f})"
        )
