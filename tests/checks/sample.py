"""A small sample database per engine, generated server-side, and an SQL copy of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reslab.checks.quoting import quote_ident
from reslab.dburl import connect, parse_db_url

#: A table whose name and content are hostile to HTML and to naive quoting; it also has a
#: column named like the checksum's row alias.
ODD_TABLE = 'odd "name" `x` <b>'
HOSTILE = "<script>alert('x')</script>"
#: Newest orders.placed_at written by the generators below (UTC).
NEWEST_ORDER = "2026-01-02T09:20:00+00:00"

SCHEMA = {
    "postgres": [
        "CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL, email text UNIQUE,"
        " note text, created_at timestamptz NOT NULL)",
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id integer NOT NULL,"
        " amount numeric(10,2), placed_at timestamp NOT NULL)",
        "CREATE INDEX orders_customer_idx ON orders (customer_id)",
        'CREATE TABLE "odd ""name"" `x` <b>" (reslab_row integer, "val`ue" text, payload json)',
    ],
    "mysql": [
        "CREATE TABLE customers (id int PRIMARY KEY, name varchar(100) NOT NULL,"
        " email varchar(100) UNIQUE, note varchar(100), created_at timestamp(3) NOT NULL)",
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL,"
        " amount decimal(10,2), placed_at datetime NOT NULL)",
        "CREATE INDEX orders_customer_idx ON orders (customer_id)",
        'CREATE TABLE `odd "name" ``x`` <b>` (reslab_row int, `val``ue` text, payload json)',
    ],
}

DATA = {
    "postgres": [
        "INSERT INTO customers SELECT g, 'customer ' || g, 'c' || g || '@example.com',"
        " CASE WHEN g % 5 = 0 THEN NULL ELSE 'note ' || g END,"
        " timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute'"
        " FROM generate_series(1, 500) g",
        "INSERT INTO orders SELECT g, 1 + g % 500, (g % 1000) / 10.0,"
        " timestamp '2026-01-01 00:00:00' + g * interval '1 minute'"
        " FROM generate_series(1, 2000) g",
    ],
    "mysql": [
        "INSERT INTO customers SELECT seq, CONCAT('customer ', seq),"
        " CONCAT('c', seq, '@example.com'), IF(seq % 5 = 0, NULL, CONCAT('note ', seq)),"
        " TIMESTAMP'2026-01-01 00:00:00' + INTERVAL seq MINUTE FROM seq_1_to_500",
        "INSERT INTO orders SELECT seq, 1 + seq % 500, (seq % 1000) / 10.0,"
        " TIMESTAMP'2026-01-01 00:00:00' + INTERVAL seq MINUTE FROM seq_1_to_2000",
    ],
}

TABLES = ("customers", "orders", ODD_TABLE)


def execute(url: str, *statements: str, params: Any = None) -> list[tuple[Any, ...]]:
    """Run statements on a database (autocommit); rows of the last one."""
    rows: list[tuple[Any, ...]] = []
    with connect(url) as conn, conn.cursor() as cur:
        if parse_db_url(url).engine == "mysql":
            cur.execute("SET time_zone = '+00:00'")
        for statement in statements:
            cur.execute(statement, params)
            rows = list(cur.fetchall()) if cur.description else []
    return rows


def populate(url: str) -> None:
    engine = parse_db_url(url).engine
    odd = quote_ident(engine, ODD_TABLE)
    execute(url, *SCHEMA[engine], *DATA[engine])
    execute(
        url, f"INSERT INTO {odd} VALUES (1, %s, '{{\"a\": 1}}'), (2, NULL, NULL)", params=(HOSTILE,)
    )


def clone(source: str, target: str) -> None:
    """Same DDL on the target, then the rows copied with SQL (COPY / INSERT ... SELECT)."""
    engine = parse_db_url(source).engine
    execute(target, *SCHEMA[engine])
    if engine == "postgres":
        with connect(source) as src, connect(target) as tgt:
            for table in TABLES:
                name = quote_ident(engine, table)
                with (
                    src.cursor().copy(f"COPY {name} TO STDOUT") as out,
                    tgt.cursor().copy(f"COPY {name} FROM STDIN") as into,
                ):
                    for block in out:
                        into.write(block)
        return
    src_db, tgt_db = parse_db_url(source).dbname, parse_db_url(target).dbname
    execute(
        target,
        *(
            f"INSERT INTO {quote_ident(engine, tgt_db, t)} SELECT * FROM "
            f"{quote_ident(engine, src_db, t)}"
            for t in TABLES
        ),
    )


@dataclass(frozen=True)
class Pair:
    engine: str
    source: str
    target: str

    def on_target(self, *statements: str) -> list[tuple[Any, ...]]:
        return execute(self.target, *statements)

    def q(self, *parts: str) -> str:
        return quote_ident(self.engine, *parts)
