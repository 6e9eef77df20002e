"""``reslab db-diff SRC TGT`` end to end, as a user runs it, against the two ways people check
a copy without it: the pair of dumps piped to sha256sum, and reladiff 0.6 comparing every
column (``-c %``).

Datasets: ``bench.dbdiff_data`` (1,000,000 + 200,000 rows, about 150 MB of dump per side),
built once and cached. reslab's modules are compiled to bytecode first, as an installed
command has them. Every command runs REPEAT times, in turns, so that the machine's load hits
them alike; the best runs (the least disturbed by the other users of a shared machine) are
compared. Before timing, one changed value in the target must make db-diff exit 1 naming the
table (and the change is undone).

Baselines, each on the same two databases:

* ``dump pair``: ``pg_dump SRC | sha256sum`` then the same for TGT (``mariadb-dump
  --single-transaction`` on MariaDB), one after the other as one types them;
* ``dump pair at once``: both pipelines at the same time (db-diff reads both sides at once);
* ``reladiff -c %``: reladiff 0.6 for each table (``-k id -c %``), in its own virtualenv under
  build/bench (installed from PyPI on first use).

Floors, timed in the same turns (``bench.dbdiff_floor``; this process, connections opened
inside the timing, no program start-up): what any faithful comparison must at least pay on
these servers.

* ``read floor``: every value of each side's tables read once, both sides at once, with the
  cheapest read of a value the engine has (the sum of ``pg_column_size`` / ``LENGTH`` of
  every column: no text conversion, no hashing), the least a comparison of every value does;
* ``read + integrity floor``: the same, and the target's integrity check (amcheck / CHECK
  TABLE, exactly as db-diff runs it) on a third connection, all at once;
* ``read + integrity floor, as a program``: the same as a command of its own (``python -m
  bench.dbdiff_floor``): interpreter start-up and the driver's import included, as in db-diff;
* ``integrity check alone``: the target's integrity check on its own.

Also: ``db-diff --workers 2`` against the default; the share of the read + integrity floor its
server tasks spent on a CPU or waiting for one (1: CPU-bound, more connections cannot make it
faster here; less: they wait for the disk); and the command's start-up (``reslab db-diff
--help``) against assembling the whole CLI.

    .venv/bin/python -m bench dbdiff
"""

from __future__ import annotations

import compileall
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bench.bench_checks import REPEAT, interleaved_best
from bench.dbdiff_data import TABLES, ensure_pair, execute
from bench.dbdiff_floor import TaskTime, floor, integrity_check
from bench.result import BenchResult
from reslab.dburl import parse_db_url

ROOT = Path(__file__).resolve().parents[1]
RESLAB = ROOT / ".venv" / "bin" / "reslab"
PYTHON = str(ROOT / ".venv" / "bin" / "python")
RELADIFF_ENV = ROOT / "build" / "bench" / "reladiff-venv"
RELADIFF_REQUIREMENT = "reladiff[postgresql,mysql]==0.6.*"
DUMPERS = {
    "postgres": "pg_dump",
    "mysql": "mariadb-dump" if shutil.which("mariadb-dump") else "mysqldump",
}
#: A value changed in the middle of the big table for the detection check (and put back).
PROBE = {
    "change": "UPDATE hits SET user_agent = 'changed' WHERE id = 500000",
    "undo": "UPDATE hits SET user_agent = {original} WHERE id = 500000",
}


def db_diff(source: str, target: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RESLAB), "db-diff", source, target, *extra],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def matching(source: str, target: str, *extra: str) -> None:
    result = db_diff(source, target, *extra)
    if result.returncode != 0:
        raise RuntimeError(f"db-diff exited {result.returncode}: {result.stdout}{result.stderr}")


def dump_command(engine: str, url: str) -> list[str]:
    db = parse_db_url(url)
    if engine == "postgres":
        return [DUMPERS[engine], "-h", db.host, "-p", str(db.port), "-U", db.user, db.dbname]
    return [
        DUMPERS[engine],
        "--single-transaction",
        f"-h{db.host}",
        f"-P{db.port}",
        f"-u{db.user}",
        db.dbname,
    ]


def start_dump_hash(engine: str, url: str) -> tuple[subprocess.Popen[bytes], ...]:
    """``dump | sha256sum`` with a real pipe between the two processes."""
    dump = subprocess.Popen(dump_command(engine, url), stdout=subprocess.PIPE)
    hashed = subprocess.Popen(["sha256sum"], stdin=dump.stdout, stdout=subprocess.DEVNULL)
    assert dump.stdout is not None
    dump.stdout.close()  # sha256sum holds the pipe now
    return dump, hashed


def dump_pair(engine: str, urls: tuple[str, str], *, at_once: bool) -> None:
    running: list[subprocess.Popen[bytes]] = []
    for url in urls:
        running += start_dump_hash(engine, url)
        if not at_once:
            _wait(running)
            running = []
    _wait(running)


def _wait(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.wait() != 0:
            raise RuntimeError(f"{process.args} exited {process.returncode}")


def reladiff_bin() -> Path:
    """reladiff 0.6 in its own virtualenv (its drivers differ from reslab's)."""
    binary = RELADIFF_ENV / "bin" / "reladiff"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(RELADIFF_ENV)], check=True)
        pip = [str(RELADIFF_ENV / "bin" / "pip"), "install", "--quiet"]
        subprocess.run([*pip, RELADIFF_REQUIREMENT], check=True)
    return binary


def reladiff(binary: Path, source: str, target: str) -> None:
    for table in TABLES:
        subprocess.run(
            [str(binary), source, table, target, table, "-k", "id", "-c", "%"],
            capture_output=True,
            check=True,
        )


def assert_detects_a_change(binary: Path, source: str, target: str) -> None:
    """After one value changed in the target's middle, db-diff must exit 1 naming ``hits``,
    and reladiff must list the changed row (so its timed runs compare every column too)."""
    original = execute(target, "SELECT user_agent FROM hits WHERE id = 500000")[0][0]
    execute(target, PROBE["change"])
    try:
        result = db_diff(source, target)
        rows = subprocess.run(
            [str(binary), source, "hits", target, "hits", "-k", "id", "-c", "%"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        engine = parse_db_url(target).engine
        literal = "'" + str(original).replace("'", "''") + "'"
        execute(target, PROBE["undo"].format(original=literal))
        if engine == "postgres":
            execute(target, "VACUUM hits")
    if result.returncode != 1 or "data.checksum[hits]" not in result.stdout:
        raise RuntimeError(f"db-diff missed a changed value: {result.stdout}{result.stderr}")
    listed = [line for line in rows.splitlines() if "500000" in line]
    if len(listed) != 2:  # the row as in the source (-) and as in the target (+)
        raise RuntimeError(f"reladiff missed a changed value: {rows}")


def cache_bytecode() -> None:
    """Compile reslab's modules (and the benchmark's) to bytecode before anything is timed, as
    pip does for an installed package: where ``PYTHONDONTWRITEBYTECODE`` is set (it is in this
    lab's sessions) a source checkout would otherwise recompile every module on every start
    (about 35-70 ms of CPU per ``reslab db-diff``, before its first query), a cost no
    installed command pays."""
    for package in ("reslab", "bench", "lambdas/shared"):
        compileall.compile_dir(ROOT / package, quiet=1)


def startup() -> BenchResult:
    """``reslab db-diff --help`` against assembling the whole CLI (what db-diff imported
    before it ran alone)."""
    whole = [PYTHON, "-c", "from reslab.cli.app import build_app; build_app()"]
    actions: dict[str, Callable[[], object]] = {
        "db-diff --help": lambda: subprocess.run(
            [str(RESLAB), "db-diff", "--help"], capture_output=True, check=True
        ),
        "whole CLI": lambda: subprocess.run(whole, capture_output=True, check=True),
    }
    best = interleaved_best(actions)
    return BenchResult(
        "dbdiff.startup.seconds",
        best["db-diff --help"],
        "s",
        "the whole CLI assembled (all command modules imported)",
        best["whole CLI"],
    )


def floor_program(engine: str, source: str, target: str) -> None:
    """The read + integrity floor as a program of its own (``bench.dbdiff_floor``)."""
    command = [PYTHON, "-m", "bench.dbdiff_floor", engine, source, target]
    subprocess.run(command, capture_output=True, check=True, cwd=ROOT)


def floor_cpu_bound(engine: str, source: str, target: str) -> BenchResult:
    """How much of the read + integrity floor its server tasks spent on a CPU or waiting for
    one, against their whole time (the rest: blocked on I/O or a lock), the least blocked of
    REPEAT runs: 1 means CPU-bound (more connections cannot make it faster on this machine);
    less means the server waits, for the disk mostly, which more connections can overlap."""
    runs = []
    for _ in range(REPEAT):
        tasks: list[TaskTime] = []
        floor(engine, source, target, check=True, tasks=tasks)
        runs.append(tasks)
    best = max(runs, key=lambda ts: sum(t.cpu + t.waiting for t in ts) / sum(t.wall for t in ts))
    return BenchResult(
        f"dbdiff.{engine}.floor_cpu_bound",
        sum(t.cpu + t.waiting for t in best),
        "s",
        "the floor's server tasks' whole time (on CPU + waiting for one + blocked)",
        sum(t.wall for t in best),
    )


#: Timed actions whose best time is reported against the dump pair (result name, action).
VS_DUMP_PAIR = (
    ("read_floor", "read floor"),
    ("read_integrity_floor", "read + integrity floor"),
    ("read_integrity_floor_program", "read + integrity floor, as a program"),
    ("integrity_alone", "integrity check alone"),
)


def run() -> list[BenchResult]:
    cache_bytecode()
    results: list[BenchResult] = [startup()]
    binary = reladiff_bin()
    for engine in ("postgres", "mysql"):
        source, target = ensure_pair(engine)
        assert_detects_a_change(binary, source, target)
        matching(source, target)  # warm-up; also proves the pair is identical
        actions: dict[str, Callable[[], object]] = {
            "db-diff": lambda s=source, t=target: matching(s, t),
            "dump pair": lambda e=engine, s=source, t=target: dump_pair(e, (s, t), at_once=False),
            "dump pair at once": lambda e=engine, s=source, t=target: dump_pair(
                e, (s, t), at_once=True
            ),
            "reladiff": lambda s=source, t=target: reladiff(binary, s, t),
        }
        actions["read floor"] = lambda e=engine, s=source, t=target: floor(e, s, t, check=False)
        actions["read + integrity floor"] = lambda e=engine, s=source, t=target: floor(
            e, s, t, check=True
        )
        actions["read + integrity floor, as a program"] = lambda e=engine, s=source, t=target: (
            floor_program(e, s, t)
        )
        actions["integrity check alone"] = lambda e=engine, t=target: integrity_check(e, t)
        # two server processes per table and side (PostgreSQL: parallel query; MySQL: ranges)
        actions["db-diff --workers 2"] = lambda s=source, t=target: matching(s, t, "--workers", "2")
        best = interleaved_best(actions)
        dumper, took = DUMPERS[engine], best["db-diff"]
        pair = f"{dumper} pair | sha256sum"
        results += [
            BenchResult(f"dbdiff.{engine}.seconds", took, "s", pair, best["dump pair"]),
            BenchResult(
                f"dbdiff.{engine}.vs_dumps_at_once",
                took,
                "s",
                f"{pair}, both at once",
                best["dump pair at once"],
            ),
            BenchResult(
                f"dbdiff.{engine}.vs_reladiff", took, "s", "reladiff 0.6 -c %", best["reladiff"]
            ),
            BenchResult(
                f"dbdiff.{engine}.vs_floor_program",
                took,
                "s",
                "read + integrity floor, as a program",
                best["read + integrity floor, as a program"],
            ),
        ]
        results += [
            BenchResult(f"dbdiff.{engine}.{name}", best[action], "s", pair, best["dump pair"])
            for name, action in VS_DUMP_PAIR
        ]
        results.append(
            BenchResult(
                f"dbdiff.{engine}.workers_2.seconds",
                best["db-diff --workers 2"],
                "s",
                "db-diff (default: --workers 1)",
                took,
            )
        )
        results.append(floor_cpu_bound(engine, source, target))
    return results
