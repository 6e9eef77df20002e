"""What any faithful comparison of the db-diff benchmark's two databases must at least pay on
these servers: every value of both sides read once, with the cheapest read of a value the
engine has, and the target's integrity check exactly as db-diff runs it.

* ``floor(engine, source, target, check=...)``: the work alone, in the caller's process (its
  driver already imported, connections opened inside the timing);
* ``python -m bench.dbdiff_floor ENGINE SOURCE TARGET``: the same as a program, start-up
  included (interpreter, the driver's import, the integrity check's module): the least a
  Python command such as ``reslab db-diff`` pays end to end;
* ``floor(..., tasks=[])`` also records, for each connection, how its server process or
  thread spent the floor (``TaskTime``: on a CPU, runnable but waiting for one, or blocked on
  I/O or a lock), from ``/proc/<id>/schedstat`` (the server must run on this machine). A
  task that is never blocked is CPU-bound: more connections cannot make it faster on two
  cores; one often blocked waits for the disk (MariaDB reads with O_DIRECT).
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bench.dbdiff_data import TABLES
from reslab.checks.engines import DIALECTS
from reslab.checks.quoting import quote_ident
from reslab.dburl import connect

#: The cheapest expression that reads a value (no text conversion, no hashing): its stored size.
VALUE_SIZE = {"postgres": "pg_column_size({column})", "mysql": "LENGTH({column})"}
_COLUMNS_SQL = (
    "SELECT column_name FROM information_schema.columns"
    " WHERE table_schema = {schema} AND table_name = %s ORDER BY ordinal_position"
)
#: The operating-system id of the server process (PostgreSQL) or thread (MariaDB) that serves
#: the connection.
_SERVER_TASK_SQL = {
    "postgres": "SELECT pg_backend_pid()",
    "mysql": "SELECT TID FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()",
}


@dataclass(frozen=True)
class TaskTime:
    """How one server task spent ``wall`` seconds: on a CPU, runnable but waiting for one, and
    the rest blocked (I/O, locks)."""

    cpu: float
    waiting: float
    wall: float

    @property
    def blocked(self) -> float:
        return max(0.0, self.wall - self.cpu - self.waiting)


def _schedstat(task: int) -> tuple[float, float]:
    with open(f"/proc/{task}/schedstat") as stat:  # noqa: PTH123
        on_cpu, waiting, _ = stat.read().split()
    return int(on_cpu) / 1e9, int(waiting) / 1e9


@contextmanager
def _recorded(engine: str, conn: Any, tasks: list[TaskTime] | None) -> Iterator[None]:
    if tasks is None:
        yield
        return
    with conn.cursor() as cur:
        cur.execute(_SERVER_TASK_SQL[engine])
        task = int(cur.fetchall()[0][0])
    (cpu, waiting), start = _schedstat(task), time.perf_counter()
    yield
    end_cpu, end_waiting = _schedstat(task)
    tasks.append(TaskTime(end_cpu - cpu, end_waiting - waiting, time.perf_counter() - start))


def value_read(engine: str, url: str, tasks: list[TaskTime] | None = None) -> None:
    """Every value of every row of each table read once (summed sizes), one statement each."""
    schema = "current_schema()" if engine == "postgres" else "DATABASE()"
    with (
        connect(url, autocommit=True) as conn,
        _recorded(engine, conn, tasks),
        conn.cursor() as cur,
    ):
        if engine == "postgres":
            cur.execute("SET max_parallel_workers_per_gather = 0")  # one process per side
        for table in TABLES:
            cur.execute(_COLUMNS_SQL.format(schema=schema), (table,))
            columns = [quote_ident(engine, str(name)) for (name,) in cur.fetchall()]
            sizes = " + ".join(
                f"coalesce({VALUE_SIZE[engine].format(column=c)}, 0)" for c in columns
            )
            cur.execute(f"SELECT count(*), sum({sizes}) FROM {quote_ident(engine, table)}")  # noqa: S608
            cur.fetchall()


def integrity_check(engine: str, url: str, tasks: list[TaskTime] | None = None) -> None:
    with connect(url, autocommit=True) as conn, _recorded(engine, conn, tasks):
        result = DIALECTS[engine].consistency(conn)
    if result.status != "pass":
        raise RuntimeError(f"integrity check did not pass: {result}")


def floor(
    engine: str, source: str, target: str, *, check: bool, tasks: list[TaskTime] | None = None
) -> None:
    """Both value reads (and the target's integrity check) at once, each on its own connection."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        running = [pool.submit(value_read, engine, url, tasks) for url in (source, target)]
        if check:
            running.append(pool.submit(integrity_check, engine, target, tasks))
        for future in running:
            future.result()


def main(argv: list[str]) -> None:
    engine, source, target = argv
    floor(engine, source, target, check=True)
    gc.freeze()  # as the reslab script does: no final collection over the imports' objects


if __name__ == "__main__":
    main(sys.argv[1:])
