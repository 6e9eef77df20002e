"""Server CPU of each piece of db-diff's work on the benchmark's target, next to the cheapest
reads of the same data: where the floor is, measured in CPU seconds of the server process or
thread that ran the statement (less sensitive to a shared machine's load than wall time).

PostgreSQL: the CPU of the connection's backend (``pg_backend_pid()``), read from ``/proc``.
MariaDB runs every connection as a thread of one process: the thread whose CPU grew most
while the statement ran is taken as the connection's (the server must run on this machine).
Each statement runs ROUNDS times; the minimum is printed (the least load-disturbed).

    .venv/bin/python -m bench.dbdiff_cpu
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from typing import Any

from bench.dbdiff_data import ensure_pair
from reslab.checks.engines import DIALECTS
from reslab.checks.engines.base import query
from reslab.checks.quoting import quote_ident
from reslab.dburl import connect

ROUNDS = int(os.environ.get("RESLAB_BENCH_REPEAT", "3"))
_TICK = os.sysconf("SC_CLK_TCK")
TABLE = "hits"


def _cpu(path: str) -> float:
    fields = open(path).read().rsplit(")", 1)[1].split()  # noqa: PTH123, SIM115
    return (int(fields[11]) + int(fields[12])) / _TICK


def _mariadb_threads() -> dict[str, float]:
    pid = subprocess.run(["pgrep", "-x", "mariadbd"], capture_output=True, text=True, check=True)
    root = f"/proc/{pid.stdout.split()[0]}/task"
    times = {}
    for tid in os.listdir(root):
        try:
            times[tid] = _cpu(f"{root}/{tid}/stat")
        except FileNotFoundError:  # a thread that just ended
            continue
    return times


def server_cpu(engine: str, conn: Any, work: Callable[[], object]) -> float:
    if engine == "postgres":
        stat = f"/proc/{query(conn, 'SELECT pg_backend_pid()')[0][0]}/stat"
        before = _cpu(stat)
        work()
        return _cpu(stat) - before
    before_threads = _mariadb_threads()
    work()
    after = _mariadb_threads()
    return max(after[t] - before_threads.get(t, 0.0) for t in after)


def _in_snapshot(engine: str, conn: Any, table: Any) -> object:
    dialect = DIALECTS[engine]
    dialect.begin_snapshot(conn)
    try:
        return dialect.table_data(conn, table)
    finally:
        dialect.end_snapshot(conn)


def pieces(engine: str, conn: Any) -> dict[str, Callable[[], object]]:
    dialect = DIALECTS[engine]
    table = next(t for t in dialect.tables(conn) if t.name == TABLE)
    name = quote_ident(engine, TABLE)
    size = "pg_column_size({c})" if engine == "postgres" else "LENGTH({c})"
    sizes = " + ".join(
        f"coalesce({size.format(c=quote_ident(engine, c.name))}, 0)" for c in table.columns
    )
    work: dict[str, Callable[[], object]] = {
        "page read (count(*))": lambda: query(conn, f"SELECT count(*) FROM {name}"),  # noqa: S608
        "every value read (sizes)": lambda: query(conn, f"SELECT sum({sizes}) FROM {name}"),  # noqa: S608
        "fingerprint (db-diff's checksum)": lambda: _in_snapshot(engine, conn, table),
        "integrity check (db-diff's)": lambda: dialect.consistency(conn),
    }
    if engine == "mysql":
        work["page read (count(*))"] = lambda: query(
            conn,
            f"SELECT COUNT(*) FROM {name} FORCE INDEX (PRIMARY)",  # noqa: S608
        )
        work["CHECK TABLE QUICK"] = lambda: query(conn, f"CHECK TABLE {name} QUICK")
        work["CHECKSUM TABLE"] = lambda: query(conn, f"CHECKSUM TABLE {name}")
    return work


def main() -> None:
    for engine in ("postgres", "mysql"):
        _, target = ensure_pair(engine)
        with connect(target, autocommit=True) as conn:
            DIALECTS[engine].prepare(conn)
            if engine == "postgres":
                query(conn, "SET max_parallel_workers_per_gather = 0")
            work = pieces(engine, conn)
            seconds: dict[str, list[float]] = {label: [] for label in work}
            for _ in range(ROUNDS):
                for label, action in work.items():
                    seconds[label].append(server_cpu(engine, conn, action))
        for label, values in seconds.items():
            print(f"{engine:8s} {label:34s} {min(values):6.2f} s server CPU (min of {ROUNDS})")


if __name__ == "__main__":
    main()
