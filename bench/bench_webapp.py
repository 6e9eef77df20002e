"""The web app against the classic lab's design, side by side in one run, on each engine.

The baseline is this file's own minimal re-implementation of the classic lab's server
(``python -m bench.bench_webapp classic DB_URL PORT``): a single-threaded ``http.server``
speaking HTTP/1.0 (a new TCP connection per request), one PyMySQL (MariaDB) or psycopg
(PostgreSQL) connection, and per hit an INSERT (autocommit) then a read of the last ten
hits. reslab's app runs the way the instances run it: ``python -m webapp.serve`` (granian).
Each side writes to its own fresh database; ``wrk --latency`` (Debian package ``wrk``)
loads them in alternating rounds, and the medians of the rounds are compared:

* 50 clients: req/s (target: at least 3x the classic's) and p99 (target: under 50 ms);
* 1 client: p50 (target: at most the classic's);
* 50 clients, reslab on a table that already holds 1,000,000 rows (hit times spread over
  the five minutes before the fill, so all of them count as recent when it starts) against
  reslab on a fresh table: req/s (target: within 10 %).

Without wrk a Python thread-pool load generator stands in (far weaker on 2 cores: its
figures only compare within one run).

    .venv/bin/python -m bench webapp
    RESLAB_BENCH_WEBAPP_SECONDS=10 RESLAB_BENCH_WEBAPP_ROUNDS=3 .venv/bin/python -m bench webapp

The machine's other load moves every figure; alternating short rounds (5 x 4 s by default) and
taking medians keeps the ratios comparable within one run.
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
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import requests

from bench.result import BenchResult
from reslab import dburl
from tests.dbservers import fresh_mysql, fresh_postgres
from webapp.db import connect, parse_db_url
from webapp.hit import utcnow
from webapp.schema import ensure_schema

SECONDS = float(os.environ.get("RESLAB_BENCH_WEBAPP_SECONDS", "4"))
ROUNDS = int(os.environ.get("RESLAB_BENCH_WEBAPP_ROUNDS", "5"))
FILL_ROWS = int(os.environ.get("RESLAB_BENCH_WEBAPP_FILL_ROWS", "1000000"))
MANY, ONE = 50, 1
ENGINES: dict[str, Callable[[], AbstractContextManager[str]]] = {
    "postgres": fresh_postgres,
    "mysql": fresh_mysql,
}
CLASSIC = "classic design"
FRESH = "fresh table"
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}

# The filled table: FILL_ROWS hits over the five minutes before the fill, with the app's
# time-ordered ids (a table the app has grown), and their counts.
FILL_SQL = {
    "postgres": [
        "INSERT INTO hits (hit_id, client_ip, user_agent, hit_time, instance_id,"
        " availability_zone) SELECT lpad(to_hex((extract(epoch FROM t) * 1000)::bigint), 12, '0')"
        " || substr(md5(g::text), 1, 20), '10.0.' || mod(g, 250) || '.' || mod(g, 200),"
        " 'bench-fill/1.0 (' || g || ')', t, 'i-fill', 'fill-az'"
        " FROM generate_series(1, {rows}) g,"
        " LATERAL (SELECT %(now)s - ({rows} - g) * interval '300 seconds' / {rows} AS t) x",
        "INSERT INTO hit_counts (bucket, writer, hits) SELECT date_trunc('second', hit_time),"
        " 'i-fill/0', COUNT(*) FROM hits GROUP BY 1",
        "VACUUM ANALYZE hits",
    ],
    "mysql": [
        "SET time_zone = '+00:00'",
        "INSERT INTO hits (hit_id, client_ip, user_agent, hit_time, instance_id,"
        " availability_zone) SELECT CONCAT(LPAD(LOWER(HEX(FLOOR(UNIX_TIMESTAMP(t) * 1000))), 12,"
        " '0'), LEFT(MD5(seq), 20)), CONCAT('10.0.', seq MOD 250, '.', seq MOD 200),"
        " CONCAT('bench-fill/1.0 (', seq, ')'), t, 'i-fill', 'fill-az' FROM (SELECT seq,"
        " %(now)s - INTERVAL (({rows} - seq) * 300000000 DIV {rows}) MICROSECOND AS t"
        " FROM seq_1_to_{rows}) filled",
        "INSERT INTO hit_counts (bucket, writer, hits)"
        " SELECT hit_time - INTERVAL MICROSECOND(hit_time) MICROSECOND, 'i-fill/0', COUNT(*)"
        " FROM hits GROUP BY 1",
        "ANALYZE TABLE hits",
    ],
}


@dataclass(frozen=True)
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int


# ---- the classic design (the baseline) -----------------------------------------------------
CLASSIC_INSERT = (
    "INSERT INTO hits (hit_id, client_ip, user_agent, hit_time, instance_id, availability_zone)"
    " VALUES (%s, %s, %s, %s, %s, %s)"
)
CLASSIC_READ = "SELECT client_ip, hit_time FROM hits ORDER BY id DESC LIMIT 10"
CLASSIC_PAGE = "<!doctype html><html><body><h1>Resiliency lab</h1><p>{}</p></body></html>"


def serve_classic(db_url: str, port: int) -> None:
    """The classic lab's server: one thread, one connection, insert then read per hit."""
    conn = connect(parse_db_url(db_url))

    class Handler(BaseHTTPRequestHandler):  # protocol_version stays HTTP/1.0
        def do_GET(self) -> None:  # noqa: N802
            row = (
                uuid.uuid4().hex,
                self.client_address[0],
                self.headers.get("User-Agent", ""),
                utcnow(),
                "i-classic",
                "classic-az",
            )
            with conn.cursor() as cur:
                cur.execute(CLASSIC_INSERT, row)
                cur.execute(CLASSIC_READ)
                last = cur.fetchall()
            body = CLASSIC_PAGE.format("<br>".join(f"{ip} {at}" for ip, at in last)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    class Server(HTTPServer):
        def handle_error(self, *_: Any) -> None:  # a client gone mid-answer (end of a run)
            pass

    print(f"listening on http://127.0.0.1:{port}", flush=True)
    Server(("127.0.0.1", port), Handler).serve_forever()


# ---- servers ---------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _process(cmd: list[str], env: dict[str, str], probe: str) -> Iterator[str]:
    """Start a server; yield its base URL once ``probe`` answers 200."""
    port = _free_port()
    cmd = [part.replace("{port}", str(port)) for part in cmd]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(base + probe, timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or slow to start
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{cmd[0]} did not start on {base}")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _env(db_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBAPP_")}
    env.update(WEBAPP_DB_URL=db_url, WEBAPP_INSTANCE_ID="i-bench", WEBAPP_AZ="bench-az")
    return env


def reslab_server(db_url: str) -> AbstractContextManager[str]:
    cmd = [sys.executable, "-m", "webapp.serve", "--bind=127.0.0.1:{port}"]
    return _process(cmd, _env(db_url), "/healthcheck")


def classic_server(db_url: str) -> AbstractContextManager[str]:
    cmd = [sys.executable, "-m", "bench.bench_webapp", "classic", db_url, "{port}"]
    return _process(cmd, _env(db_url), "/")


# ---- load ------------------------------------------------------------------------------------
def _ms(value: str, unit: str) -> float:
    return float(value) * _UNITS_MS[unit]


def wrk(url: str, clients: int, seconds: float) -> Load:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--latency", url],
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


def python_load(url: str, clients: int, seconds: float) -> Load:
    """Fallback load generator: one thread per client."""
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

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cuts = statistics.quantiles(latencies, n=100)
    return Load(len(latencies) / (time.monotonic() - began), cuts[49], cuts[98], len(latencies))


LOAD = wrk if shutil.which("wrk") else python_load


def alternate(bases: dict[str, str], clients: int) -> dict[str, Load]:
    """Each server in turn, ROUNDS times (after a one-second warm-up); the medians."""
    for base in bases.values():
        LOAD(base + "/", clients, 1)
    runs: dict[str, list[Load]] = {name: [] for name in bases}
    for _ in range(ROUNDS):
        for name, base in bases.items():
            runs[name].append(LOAD(base + "/", clients, SECONDS))
    return {name: _median(loads) for name, loads in runs.items()}


def _median(runs: list[Load]) -> Load:
    return Load(
        rps=statistics.median(r.rps for r in runs),
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        requests=sum(r.requests for r in runs),
    )


# ---- databases -------------------------------------------------------------------------------
@contextmanager
def hits_database(engine: str, fill_rows: int = 0) -> Iterator[str]:
    """A fresh database with the web app's schema, optionally filled."""
    with ENGINES[engine]() as db_url:
        conn = dburl.connect(db_url)  # no read timeout: a fill takes a while
        try:
            ensure_schema(conn, engine)
            if fill_rows:
                with conn.cursor() as cur:
                    for sql in FILL_SQL[engine]:
                        params = {"now": utcnow()} if "%(now)s" in sql else None
                        cur.execute(sql.format(rows=fill_rows), params)
        finally:
            conn.close()
        yield db_url


def measure(engine: str) -> list[BenchResult]:
    with ExitStack() as stack:
        classic = stack.enter_context(classic_server(stack.enter_context(hits_database(engine))))
        ours = stack.enter_context(reslab_server(stack.enter_context(hits_database(engine))))
        many = alternate({"classic": classic, "reslab": ours}, MANY)
        one = alternate({"classic": classic, "reslab": ours}, ONE)
    started = time.monotonic()
    with ExitStack() as stack:
        filled_db = stack.enter_context(hits_database(engine, FILL_ROWS))
        filled_in = time.monotonic() - started
        fresh = stack.enter_context(reslab_server(stack.enter_context(hits_database(engine))))
        filled = stack.enter_context(reslab_server(filled_db))
        sizes = alternate({"fresh": fresh, "filled": filled}, MANY)
    print(
        f"webapp/{engine}: {LOAD.__name__}, {ROUNDS} rounds x {SECONDS:g} s per figure; "
        f"{FILL_ROWS} rows filled in {filled_in:.0f} s\n"
        f"  {MANY} clients: reslab {many['reslab'].rps:.0f} req/s, p99 "
        f"{many['reslab'].p99_ms:.1f} ms; classic {many['classic'].rps:.0f} req/s, p99 "
        f"{many['classic'].p99_ms:.1f} ms\n"
        f"  {ONE} client: reslab p50 {one['reslab'].p50_ms:.2f} ms, classic p50 "
        f"{one['classic'].p50_ms:.2f} ms\n"
        f"  {MANY} clients: {sizes['filled'].rps:.0f} req/s with {FILL_ROWS} rows, "
        f"{sizes['fresh'].rps:.0f} req/s on a fresh table"
    )
    print("  targets: " + "; ".join(_verdicts(many, one, sizes)))
    name = f"webapp_{engine}"
    return [
        BenchResult(f"{name}_c50_rps", many["reslab"].rps, "req/s", CLASSIC, many["classic"].rps),
        BenchResult(
            f"{name}_c50_p50", many["reslab"].p50_ms, "ms", CLASSIC, many["classic"].p50_ms
        ),
        BenchResult(
            f"{name}_c50_p99", many["reslab"].p99_ms, "ms", CLASSIC, many["classic"].p99_ms
        ),
        BenchResult(f"{name}_c1_rps", one["reslab"].rps, "req/s", CLASSIC, one["classic"].rps),
        BenchResult(f"{name}_c1_p50", one["reslab"].p50_ms, "ms", CLASSIC, one["classic"].p50_ms),
        BenchResult(
            f"{name}_1m_rows_c50_rps", sizes["filled"].rps, "req/s", FRESH, sizes["fresh"].rps
        ),
        BenchResult(
            f"{name}_1m_rows_c50_p99", sizes["filled"].p99_ms, "ms", FRESH, sizes["fresh"].p99_ms
        ),
    ]


def _verdicts(many: dict[str, Load], one: dict[str, Load], sizes: dict[str, Load]) -> list[str]:
    rps = many["reslab"].rps / many["classic"].rps
    p50 = one["reslab"].p50_ms / one["classic"].p50_ms
    filled = sizes["filled"].rps / sizes["fresh"].rps
    checks = [
        (f"{MANY}-client req/s {rps:.1f}x the classic's (>= 3x)", rps >= 3),
        (f"p99 {many['reslab'].p99_ms:.0f} ms (< 50 ms)", many["reslab"].p99_ms < 50),
        (f"{ONE}-client p50 {p50:.2f}x the classic's (<= 1x)", p50 <= 1),
        (f"req/s with {FILL_ROWS} rows {filled:.2f}x a fresh table's (>= 0.9x)", filled >= 0.9),
    ]
    return [f"{text} {'met' if ok else 'MISSED'}" for text, ok in checks]


def run() -> list[BenchResult]:
    results: list[BenchResult] = []
    for engine in ENGINES:
        results += measure(engine)
    return results


if __name__ == "__main__" and sys.argv[1:2] == ["classic"]:
    serve_classic(sys.argv[2], int(sys.argv[3]))
