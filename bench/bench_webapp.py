"""The web app under load: a database write per hit, against the same page with no database.

gunicorn (2 gthread workers x 4 threads) serves ``webapp.wsgi:app`` on local PostgreSQL and
MariaDB. The load generator is ``wrk`` (Debian package ``wrk``); without it, a Python
thread-pool fallback (slower, so its figures are only comparable within one run).
For each engine, ``GET /`` (INSERT + recent-count query + page) and ``GET /nodb`` (the same
page, no database) are measured in alternating rounds against the same server; the medians
of the rounds are reported, and ratio = with-write / without.

    .venv/bin/python -m bench webapp
    RESLAB_BENCH_WEBAPP_SECONDS=10 RESLAB_BENCH_WEBAPP_ROUNDS=3 .venv/bin/python -m bench webapp
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from bench.result import BenchResult
from tests.dbservers import fresh_mysql, fresh_postgres
from webapp.db import connect, parse_db_url
from webapp.schema import ensure_schema

SECONDS = float(os.environ.get("RESLAB_BENCH_WEBAPP_SECONDS", "5"))
ROUNDS = int(os.environ.get("RESLAB_BENCH_WEBAPP_ROUNDS", "3"))
CONNECTIONS = int(os.environ.get("RESLAB_BENCH_WEBAPP_CONNECTIONS", "8"))
WORKERS, THREADS = 2, 4
BIN = Path(sys.executable).parent
ENGINES: dict[str, Callable[[], AbstractContextManager[str]]] = {
    "postgres": fresh_postgres,
    "mysql": fresh_mysql,
}
BASELINE = "same page, no DB (/nodb)"
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn(db_url: str) -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBAPP_")}
    env.update(WEBAPP_DB_URL=db_url, WEBAPP_INSTANCE_ID="i-bench", WEBAPP_AZ="bench-az")
    cmd = [
        str(BIN / "gunicorn"),
        f"--bind=127.0.0.1:{port}",
        f"--workers={WORKERS}",
        "--worker-class=gthread",
        f"--threads={THREADS}",
        "--log-level=warning",
        "webapp.wsgi:app",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(base + "/healthcheck", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start on {base}")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNITS_MS[unit]


def wrk(url: str, seconds: float) -> Load:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pct = {
        m[0]: _ms(m[1], m[2]) for m in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    }
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{errors.group(1)} failed requests against {url}")
    return Load(rps=rps, p50_ms=pct["50"], p99_ms=pct["99"], requests=total)


def python_load(url: str, seconds: float) -> Load:
    """Fallback load generator: CONNECTIONS threads with keep-alive sessions."""
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        mine: list[float] = []
        with requests.Session() as session:
            while (start := time.monotonic()) < deadline:
                session.get(url, timeout=10).raise_for_status()
                mine.append((time.monotonic() - start) * 1000)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(CONNECTIONS)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cuts = statistics.quantiles(latencies, n=100)
    return Load(len(latencies) / (time.monotonic() - began), cuts[49], cuts[98], len(latencies))


def measure(engine: str) -> tuple[Load, Load, int]:
    """(with DB write, without DB, rows written) for one engine: alternating rounds, medians."""
    load = wrk if shutil.which("wrk") else python_load
    with ENGINES[engine]() as db_url:
        target = parse_db_url(db_url)
        conn = connect(target)
        try:
            ensure_schema(conn, target.engine)
        finally:
            conn.close()
        with gunicorn(db_url) as base:
            load(base + "/", 1)  # warm-up: connections, page cache
            load(base + "/nodb", 1)
            write_runs, nodb_runs = [], []
            for _ in range(ROUNDS):
                nodb_runs.append(load(base + "/nodb", SECONDS))
                write_runs.append(load(base + "/", SECONDS))
        conn = connect(target)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM hits")
                rows = int(cur.fetchone()[0])
        finally:
            conn.close()
    return _median(write_runs), _median(nodb_runs), rows


def _median(runs: list[Load]) -> Load:
    return Load(
        rps=statistics.median(r.rps for r in runs),
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        requests=sum(r.requests for r in runs),
    )


def run() -> list[BenchResult]:
    results: list[BenchResult] = []
    tool = "wrk" if shutil.which("wrk") else "python threads"
    for engine in ENGINES:
        write, nodb, rows = measure(engine)
        print(
            f"webapp/{engine} ({tool}, {CONNECTIONS} connections, gunicorn {WORKERS}x{THREADS}):"
            f" {write.requests} write requests measured, {rows} rows in hits"
        )
        results += [
            BenchResult(f"webapp_{engine}_rps", write.rps, "req/s", BASELINE, nodb.rps),
            BenchResult(f"webapp_{engine}_p50", write.p50_ms, "ms", BASELINE, nodb.p50_ms),
            BenchResult(f"webapp_{engine}_p99", write.p99_ms, "ms", BASELINE, nodb.p99_ms),
        ]
    return results
