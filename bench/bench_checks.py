"""Data checks (``fingerprint``) against the naive "check a backup": ``dump | sha256sum``.

One 1,000,000-row table (~100 MB) per engine, generated server-side and cached between runs
(reused when it holds the right row count). Both sides run REPEAT times in turns; the
medians are compared.
Target: the fingerprint takes at most half of the dump's time.

    .venv/bin/python -m bench checks
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from bench.result import BenchResult
from reslab.checks import fingerprint
from reslab.checks.quoting import quote_ident
from reslab.dburl import connect, parse_db_url

ROWS = int(os.environ.get("RESLAB_BENCH_ROWS", "1000000"))
REPEAT = int(os.environ.get("RESLAB_BENCH_REPEAT", "5"))
DB_NAME = "reslab_bench_checks"
PG_ADMIN = os.environ.get("RESLAB_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MYSQL_ADMIN = "mysql://root@127.0.0.1:3306/mysql"
PG_DUMP = next(
    (p for p in ("/usr/lib/postgresql/15/bin/pg_dump", "/usr/bin/pg_dump") if Path(p).exists()),
    "pg_dump",
)

#: Server-side generators: ~100 bytes per row.
TABLE_SQL = {
    "postgres": [
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer text NOT NULL, email text,"
        " amount numeric(12,2), created_at timestamptz NOT NULL, paid boolean, note text)",
        "INSERT INTO orders SELECT g, 'customer ' || (g % 50000), 'user' || g || '@example.com',"
        " (g % 100000) / 100.0, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',"
        " g % 3 = 0, CASE WHEN g % 10 = 0 THEN NULL ELSE md5(g::text) END"
        " FROM generate_series(1, {rows}) g",
        "VACUUM ANALYZE orders",
    ],
    "mysql": [
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer varchar(64) NOT NULL,"
        " email varchar(128), amount decimal(12,2), created_at datetime(6) NOT NULL,"
        " paid boolean, note varchar(64)) ENGINE=InnoDB",
        "INSERT INTO orders SELECT seq, CONCAT('customer ', seq % 50000),"
        " CONCAT('user', seq, '@example.com'), (seq % 100000) / 100.0,"
        " TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq SECOND, seq % 3 = 0,"
        " IF(seq % 10 = 0, NULL, MD5(seq)) FROM seq_1_to_{rows}",
        "ANALYZE TABLE orders",
    ],
}


def _admin(engine: str) -> str:
    return PG_ADMIN if engine == "postgres" else MYSQL_ADMIN


def _url(engine: str) -> str:
    return parse_db_url(_admin(engine)).with_dbname(DB_NAME).url()


def _rows_in(url: str) -> int | None:
    try:
        with connect(url) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM orders")
            return int(cur.fetchone()[0])
    except Exception:
        return None


def ensure_database(engine: str) -> str:
    """The cached bench database's URL, (re)generated unless it holds exactly ROWS rows."""
    url = _url(engine)
    if _rows_in(url) == ROWS:
        return url
    name = quote_ident(engine, DB_NAME)
    with connect(_admin(engine)) as admin, admin.cursor() as cur:
        force = " WITH (FORCE)" if engine == "postgres" else ""
        cur.execute(f"DROP DATABASE IF EXISTS {name}{force}")
        cur.execute(f"CREATE DATABASE {name}")
    with connect(url) as conn, conn.cursor() as cur:
        for statement in TABLE_SQL[engine]:
            cur.execute(statement.format(rows=ROWS))
            if cur.description:
                cur.fetchall()
    return url


def dump_command(engine: str) -> list[str]:
    target = parse_db_url(_url(engine))
    if engine == "postgres":
        return [PG_DUMP, "-h", target.host, "-p", str(target.port), "-U", target.user, DB_NAME]
    return [
        "mysqldump",
        "--single-transaction",
        f"-h{target.host}",
        f"-P{target.port}",
        f"-u{target.user}",
        DB_NAME,
    ]


def dump_and_hash(engine: str) -> None:
    """``dump | sha256sum`` with a real pipe between the two processes."""
    dump = subprocess.Popen(dump_command(engine), stdout=subprocess.PIPE)
    hashed = subprocess.run(["sha256sum"], stdin=dump.stdout, capture_output=True, check=True)
    assert dump.stdout is not None
    dump.stdout.close()
    if dump.wait() != 0 or len(hashed.stdout) < 64:
        raise RuntimeError(f"{engine} dump failed")


def interleaved_times(actions: dict[str, Callable[[], object]]) -> dict[str, list[float]]:
    """Seconds of each of REPEAT runs of each action, run in turns so that machine load hits
    all alike."""
    times: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(REPEAT):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            times[name].append(time.perf_counter() - start)
    return times


def interleaved_medians(actions: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Median seconds of each action (``interleaved_times``)."""
    return {name: statistics.median(v) for name, v in interleaved_times(actions).items()}


def interleaved_best(actions: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Best (least) seconds of each action (``interleaved_times``): on a shared machine the
    run the other users' load disturbed least."""
    return {name: min(v) for name, v in interleaved_times(actions).items()}


def run() -> list[BenchResult]:
    results: list[BenchResult] = []
    for engine, tool in (("postgres", "pg_dump"), ("mysql", "mysqldump")):
        url = ensure_database(engine)
        fp = fingerprint(url)  # warm-up; also proves the table is complete
        assert fp.tables["orders"].rows == ROWS
        actions: dict[str, Callable[[], object]] = {
            "checks": lambda url=url: fingerprint(url),
            "dump": lambda engine=engine: dump_and_hash(engine),
        }
        if engine == "mysql":  # also: key ranges on two parallel connections
            actions["parallel"] = lambda url=url: fingerprint(url, workers=2)
        medians = interleaved_medians(actions)
        baseline, dump = f"{tool} | sha256sum", medians["dump"]
        results += [
            BenchResult(
                f"checks.fingerprint.{engine}.seconds", medians["checks"], "s", baseline, dump
            ),
            BenchResult(
                f"checks.fingerprint.{engine}.rows_per_s",
                ROWS / medians["checks"],
                "rows/s",
                baseline,
                ROWS / dump,
            ),
        ]
        if "parallel" in medians:
            results.append(
                BenchResult(
                    f"checks.fingerprint.{engine}.two_connections.seconds",
                    medians["parallel"],
                    "s",
                    baseline,
                    dump,
                )
            )
    return results
