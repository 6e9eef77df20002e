"""The db-diff benchmark's databases: a source and an identical target on each engine.

Two tables generated server-side: ``hits`` (the lab's own table, 1,000,000 rows) and
``orders`` (200,000 rows with the other column types the sample uses: integer, numeric,
float, boolean, time zone-aware timestamps, NULLs). About 150 MB of dump per side. The target
is copied from the source with SQL (a logical copy, as a restore from a dump would make it).
Both are cached between runs and rebuilt when the source's shape marker is not the current
one.
"""

from __future__ import annotations

import os
from typing import Any

from reslab.checks.quoting import quote_ident
from reslab.dburl import connect, parse_db_url

HITS = int(os.environ.get("RESLAB_BENCH_HITS", "1000000"))
ORDERS = int(os.environ.get("RESLAB_BENCH_ORDERS", "200000"))
#: Bumped whenever the generators below change, so cached databases are rebuilt.
SHAPE = f"dbdiff-v2-{HITS}-{ORDERS}"
SOURCE_DB, TARGET_DB = "reslab_bench_diff_src", "reslab_bench_diff_tgt"
ADMIN_URLS = {
    "postgres": os.environ.get(
        "RESLAB_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    ),
    "mysql": "mysql://root@127.0.0.1:3306/mysql",
}

_AGENTS = (
    "'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0'",
    "'Mozilla/5.0 (Windows NT 10.0; rv:121.0) Firefox/121.0'",
    "'curl/8.5.0'",
    "'ELB-HealthChecker/2.0'",
)

SCHEMA = {
    "postgres": [
        "CREATE TABLE hits (id BIGSERIAL PRIMARY KEY, hit_id CHAR(32) NOT NULL UNIQUE,"
        " client_ip VARCHAR(255) NOT NULL, user_agent VARCHAR(1024) NOT NULL,"
        " hit_time TIMESTAMP(6) NOT NULL, instance_id VARCHAR(64) NOT NULL,"
        " availability_zone VARCHAR(64) NOT NULL)",
        "CREATE INDEX hits_hit_time_idx ON hits (hit_time)",
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id integer NOT NULL,"
        " amount numeric(12,2), ratio double precision, placed_at timestamptz NOT NULL,"
        " paid boolean, note text)",
        "CREATE TABLE bench_shape (shape text NOT NULL)",
    ],
    "mysql": [
        "CREATE TABLE hits (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
        " hit_id CHAR(32) NOT NULL UNIQUE, client_ip VARCHAR(255) NOT NULL,"
        " user_agent VARCHAR(1024) NOT NULL, hit_time DATETIME(6) NOT NULL,"
        " instance_id VARCHAR(64) NOT NULL, availability_zone VARCHAR(64) NOT NULL,"
        " INDEX hits_hit_time_idx (hit_time)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL,"
        " amount decimal(12,2), ratio double, placed_at timestamp(6) NOT NULL, paid boolean,"
        " note text) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        "CREATE TABLE bench_shape (shape varchar(100) NOT NULL)",
    ],
}

DATA = {
    "postgres": [
        "INSERT INTO hits SELECT g, md5(g::text), '10.' || (g % 250) || '.' || (g / 250 % 250)"
        " || '.' || (g % 7), (ARRAY[" + ", ".join(_AGENTS) + "])[1 + g % 4],"
        " timestamp '2026-01-01 00:00:00' + g * interval '1.5 second',"
        " 'i-0' || lpad(to_hex(g % 6), 16, 'a'), 'us-east-2' || chr(97 + g % 3)"
        " FROM generate_series(1, {hits}) g",
        "INSERT INTO orders SELECT g, 1 + g % 5000, (g % 100000) / 100.0, g / 7.0,"
        " timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute', g % 3 = 0,"
        " CASE WHEN g % 10 = 0 THEN NULL WHEN g % 10 = 1 THEN '' ELSE 'note ' || g END"
        " FROM generate_series(1, {orders}) g",
        "VACUUM ANALYZE hits",
        "VACUUM ANALYZE orders",
    ],
    "mysql": [
        "INSERT INTO hits SELECT seq, MD5(seq), CONCAT('10.', seq % 250, '.', seq DIV 250 % 250,"
        " '.', seq % 7), ELT(1 + seq % 4, " + ", ".join(_AGENTS) + "),"
        " TIMESTAMP'2026-01-01 00:00:00' + INTERVAL seq * 1.5 SECOND,"
        " CONCAT('i-0', LPAD(HEX(seq % 6), 16, 'a')), CONCAT('us-east-2', CHAR(97 + seq % 3))"
        " FROM seq_1_to_{hits}",
        "INSERT INTO orders SELECT seq, 1 + seq % 5000, (seq % 100000) / 100.0, seq / 7.0,"
        " TIMESTAMP'2026-01-01 00:00:00' + INTERVAL seq MINUTE, seq % 3 = 0,"
        " CASE WHEN seq % 10 = 0 THEN NULL WHEN seq % 10 = 1 THEN '' ELSE CONCAT('note ', seq)"
        " END FROM seq_1_to_{orders}",
        "ANALYZE TABLE hits",
        "ANALYZE TABLE orders",
    ],
}

TABLES = ("hits", "orders")


def url(engine: str, dbname: str) -> str:
    return parse_db_url(ADMIN_URLS[engine]).with_dbname(dbname).url()


def execute(db_url: str, *statements: str) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    with connect(db_url) as conn, conn.cursor() as cur:
        if parse_db_url(db_url).engine == "mysql":
            cur.execute("SET time_zone = '+00:00'")
        for statement in statements:
            cur.execute(statement)
            rows = list(cur.fetchall()) if cur.description else []
    return rows


def _shape(db_url: str) -> str | None:
    try:
        rows = execute(db_url, "SELECT shape FROM bench_shape")
    except Exception:
        return None
    return str(rows[0][0]) if rows else None


def _recreate(engine: str, dbname: str) -> str:
    name = quote_ident(engine, dbname)
    force = " WITH (FORCE)" if engine == "postgres" else ""
    execute(ADMIN_URLS[engine], f"DROP DATABASE IF EXISTS {name}{force}", f"CREATE DATABASE {name}")
    return url(engine, dbname)


def ensure_pair(engine: str) -> tuple[str, str]:
    """(source URL, target URL): identical databases, rebuilt unless both hold ``SHAPE``."""
    source, target = url(engine, SOURCE_DB), url(engine, TARGET_DB)
    if _shape(source) == SHAPE and _shape(target) == SHAPE:
        return source, target
    source = _recreate(engine, SOURCE_DB)
    statements = [s.format(hits=HITS, orders=ORDERS) for s in DATA[engine]]
    execute(source, *SCHEMA[engine], *statements)
    execute(source, f"INSERT INTO bench_shape VALUES ('{SHAPE}')")
    target = _recreate(engine, TARGET_DB)
    execute(target, *SCHEMA[engine])
    _copy_rows(engine, source, target)
    return source, target


def _copy_rows(engine: str, source: str, target: str) -> None:
    tables = (*TABLES, "bench_shape")
    if engine == "mysql":
        execute(
            target,
            *(
                f"INSERT INTO {quote_ident(engine, TARGET_DB, t)} SELECT * FROM "
                f"{quote_ident(engine, SOURCE_DB, t)}"
                for t in tables
            ),
            "ANALYZE TABLE hits",
            "ANALYZE TABLE orders",
        )
        return
    with connect(source) as src, connect(target) as tgt:
        for table in tables:
            with (
                src.cursor().copy(f"COPY {table} TO STDOUT (FORMAT binary)") as out,
                tgt.cursor().copy(f"COPY {table} FROM STDIN (FORMAT binary)") as into,
            ):
                for block in out:
                    into.write(block)
        tgt.execute("VACUUM ANALYZE")
