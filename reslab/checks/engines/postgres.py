"""PostgreSQL SQL for the checks (catalog queries, in-database checksums, amcheck)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

from reslab.checks.catalogue import AMCHECK
from reslab.checks.engines.base import KeyRange, query, scalar
from reslab.checks.model import CheckResult, Column, Index, TableFingerprint, table_key
from reslab.checks.quoting import quote_pg

_USER_SCHEMAS = """
    n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
"""

_NOT_EXTENSION_OWNED = """
    NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                AND d.objid = c.oid AND d.deptype = 'e')
"""

_COLUMNS_SQL = f"""
SELECT n.nspname, c.relname, c.relkind::text, a.attname,
       format_type(a.atttypid, a.atttypmod), NOT a.attnotnull
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't' AND {_USER_SCHEMAS}
  AND {_NOT_EXTENSION_OWNED}
ORDER BY n.nspname, c.relname, a.attnum
"""  # noqa: S608 - constant catalog query

_INDEXES_SQL = f"""
SELECT n.nspname, c.relname, ic.relname, i.indisunique, am.amname,
       ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true)
             FROM generate_series(1, i.indnkeyatts) AS k ORDER BY k)
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_am am ON am.oid = ic.relam
WHERE c.relkind IN ('r', 'p') AND {_USER_SCHEMAS} AND {_NOT_EXTENSION_OWNED}
ORDER BY n.nspname, c.relname, ic.relname
"""  # noqa: S608 - constant catalog query

_BTREE_INDEXES_SQL = f"""
SELECT ic.oid::bigint, n.nspname, ic.relname
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_am am ON am.oid = ic.relam
WHERE am.amname = 'btree' AND i.indisvalid AND i.indisready AND ic.relpersistence <> 't'
  AND c.relkind = 'r' AND {_USER_SCHEMAS}
ORDER BY n.nspname, ic.relname
"""  # noqa: S608 - constant catalog query

#: Settings that fix the text form of rows (used only by the md5 fallback checksum).
_TEXT_SETTINGS = (
    "SET LOCAL TimeZone = 'UTC'",
    "SET LOCAL DateStyle = 'ISO, YMD'",
    "SET LOCAL IntervalStyle = 'postgres'",
    "SET LOCAL extra_float_digits = 1",
    "SET LOCAL bytea_output = 'hex'",
)

#: Each column type's own 64-bit hash function (the one its default hash operator class uses,
#: so the hash is of the *value*, not of a text form), as an expression of the value ``{v}`` and
#: a seed ``{s}``. A few are called through an exact, lossless conversion to the type the
#: function is declared for. Keys are types without modifiers (``numeric(12,2)`` -> numeric).
COLUMN_HASHES: dict[str, str] = {
    "smallint": "hashint2extended({v}, {s})",
    "integer": "hashint4extended({v}, {s})",
    "bigint": "hashint8extended({v}, {s})",
    "numeric": "hash_numeric_extended({v}, {s})",
    "real": "hashfloat4extended({v}, {s})",
    "double precision": "hashfloat8extended({v}, {s})",
    "boolean": "hashint4extended({v}::integer, {s})",
    "text": "hashtextextended({v}, {s})",
    "character varying": "hashtextextended({v}, {s})",
    "character": "hashbpcharextended({v}, {s})",
    "name": "hashnameextended({v}, {s})",
    "timestamp without time zone": "timestamp_hash_extended({v}, {s})",
    "timestamp with time zone": "timestamp_hash_extended({v} AT TIME ZONE 'UTC', {s})",
    "date": "timestamp_hash_extended({v}::timestamp, {s})",
    "time without time zone": "time_hash_extended({v}, {s})",
    "time with time zone": "timetz_hash_extended({v}, {s})",
    "interval": "interval_hash_extended({v}, {s})",
    "uuid": "uuid_hash_extended({v}, {s})",
    "jsonb": "jsonb_hash_extended({v}, {s})",
    "inet": "hashinetextended({v}, {s})",
    "cidr": "hashinetextended({v}, {s})",
}
_TYPE_MODIFIERS = re.compile(r"\(\d+(?:,\d+)?\)")


def column_hashes(table: TableFingerprint, row: str) -> str | None:
    """Per-row hash from each column's own hash: XOR of ``hash(value, seed = position)``
    (a NULL counts as the position itself), mixed once more so that a sum over rows is not
    linear; None when a column's type is not in ``COLUMN_HASHES``. A NOT NULL column's hash
    is never NULL: it goes without the ``coalesce`` (same value, about a tenth less CPU)."""
    parts = []
    for position, column in enumerate(table.columns, start=1):
        template = COLUMN_HASHES.get(_TYPE_MODIFIERS.sub("", column.type))
        if template is None:
            return None
        value = f"{row}.{quote_pg(column.name)}"
        hashed = template.format(v=value, s=position)
        parts.append(f"coalesce({hashed}, {position})" if column.nullable else hashed)
    return f"hashint8extended({' # '.join(parts) or '0'}, 0)"


#: Checksum algorithms, fastest first: (name, per-row hash of the row alias ``row``, or None
#: when the algorithm cannot summarise the table). Each is an order-independent exact
#: (numeric) sum of a 64-bit per-row hash.
CHECKSUMS: tuple[tuple[str, Callable[[TableFingerprint, str], str | None]], ...] = (
    ("pg-colhash64mix-sum", column_hashes),
    # each column's binary value hashed by the type's own hash function (no text conversion);
    # hash_record_extended combines them linearly (31*h + e), so values swapped between rows
    # would cancel out in a sum: hashing the row hash again (hashint8extended) breaks that.
    # Slower than column_hashes (it builds a record per row) but takes any hashable type.
    (
        "pg-hashrecord64mix-sum",
        lambda _, row: f"hashint8extended(hash_record_extended({row}, 0), 0)",
    ),
    # first 64 bits of md5 of the row's text form (works for types without a hash function)
    ("pg-md5text64-sum", lambda _, row: f"('x' || left(md5({row}::text), 16))::bit(64)::bigint"),
)


class PostgresDialect:
    engine = "postgres"

    def prepare(self, conn: Any) -> None:
        if not conn.autocommit and conn.info.transaction_status == 0:  # IDLE
            conn.autocommit = True

    def begin_snapshot(self, conn: Any, workers: int = 1) -> None:
        query(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for statement in _TEXT_SETTINGS:
            query(conn, statement)
        # the leader and workers - 1 parallel workers; this transaction only
        query(
            conn,
            "SELECT set_config('max_parallel_workers_per_gather', %s, true)",
            (str(workers - 1),),
        )

    def end_snapshot(self, conn: Any) -> None:
        query(conn, "COMMIT")

    def version(self, conn: Any) -> str:
        return str(scalar(conn, "SHOW server_version")).split(" ")[0]

    def database(self, conn: Any) -> str:
        return str(scalar(conn, "SELECT current_database()"))

    def user_count(self, conn: Any) -> int | None:
        return int(scalar(conn, "SELECT count(*) FROM pg_roles WHERE rolname !~ '^pg_'"))

    def server_id(self, conn: Any) -> str | None:
        # a restored snapshot keeps the cluster's system_identifier: the address tells apart
        sql = (
            "SELECT system_identifier::text || '@' || coalesce(host(inet_server_addr()), 'local')"
            " || ':' || coalesce(inet_server_port(), 0) FROM pg_control_system()"
        )
        query(conn, "SAVEPOINT reslab_server_id")
        try:
            value = scalar(conn, sql)
        except Exception:  # pg_control_system() not granted: unknown
            query(conn, "ROLLBACK TO SAVEPOINT reslab_server_id")
            return None
        query(conn, "RELEASE SAVEPOINT reslab_server_id")
        return str(value)

    def tables(self, conn: Any) -> list[TableFingerprint]:
        columns: dict[tuple[str, str], list[Column]] = {}
        kinds: dict[tuple[str, str], str] = {}
        for schema, name, kind, col, coltype, nullable in query(conn, _COLUMNS_SQL):
            columns.setdefault((schema, name), [])
            kinds[(schema, name)] = kind
            if col is not None:
                columns[(schema, name)].append(Column(col, coltype, bool(nullable)))
        indexes: dict[tuple[str, str], list[Index]] = {}
        for schema, table, name, unique, method, cols in query(conn, _INDEXES_SQL):
            indexes.setdefault((schema, table), []).append(
                Index(name, tuple(cols), bool(unique), method)
            )
        return [
            TableFingerprint(
                schema=schema,
                name=name,
                columns=tuple(cols),
                indexes=tuple(indexes.get((schema, name), ())),
                # partitioned parents hold no rows themselves: their partitions are checked
                algorithm=None if kinds[(schema, name)] == "r" else "partitioned",
            )
            for (schema, name), cols in columns.items()
        ]

    def chunk_key(self, table: TableFingerprint) -> str | None:
        return None  # PostgreSQL parallelises the scan itself (parallel aggregate)

    def key_bounds(self, conn: Any, table: TableFingerprint, column: str) -> tuple[int, int] | None:
        return None

    def table_data(
        self, conn: Any, table: TableFingerprint, key_range: KeyRange | None = None
    ) -> tuple[int, str, str] | None:
        if key_range is not None:
            raise NotImplementedError("PostgreSQL tables are summarised whole")
        if table.algorithm == "partitioned":
            return None
        alias = _free_alias(table)
        source = f"{quote_pg(table.schema)}.{quote_pg(table.name)} AS {quote_pg(alias)}"
        last_error: Exception | None = None
        for algorithm, row_hash_of in CHECKSUMS:
            row_hash = row_hash_of(table, quote_pg(alias))
            if row_hash is None:
                continue
            sql = f"SELECT count(*), coalesce(sum({row_hash}), 0)::text FROM {source}"  # noqa: S608
            query(conn, "SAVEPOINT reslab_checksum")
            try:
                rows, checksum = query(conn, sql)[0]
            except Exception as exc:  # a column type without a hash function: next algorithm
                query(conn, "ROLLBACK TO SAVEPOINT reslab_checksum")
                last_error = exc
                continue
            query(conn, "RELEASE SAVEPOINT reslab_checksum")
            return int(rows), str(checksum), algorithm
        raise RuntimeError(f"no checksum algorithm works for {table.name}: {last_error}")

    def newest(self, conn: Any, table: TableFingerprint, column: str) -> Any:
        name = f"{quote_pg(table.schema)}.{quote_pg(table.name)}"
        sql = f"SELECT max({quote_pg(column)}) FROM {name}"  # noqa: S608 - quoted identifiers
        return scalar(conn, sql)

    def consistency(self, conn: Any) -> CheckResult:
        """amcheck's ``bt_index_check`` on every btree index, without changing the database.

        With the amcheck extension installed in the database it runs in a READ ONLY
        transaction. Without it, the extension is created in a schema of its own inside a
        transaction that is always rolled back: nothing of it is ever committed, so no other
        session sees it and the database's catalog is left as it was (tested). A login that may
        do neither gets SKIP.
        """
        database = self.database(conn)
        installed = scalar(conn, _AMCHECK_SCHEMA_SQL)
        query(conn, "BEGIN" if installed is None else "BEGIN READ ONLY")
        try:
            schema, refusal = installed, ""
            if schema is None:
                schema, refusal = _add_amcheck_for_this_transaction(conn)
            if schema is None:
                reason = f"this login may not add it for the check: {refusal}"
                return _amcheck_skipped(
                    f"amcheck not installed in {database}; install it to enable ({reason})"
                )
            return _check_indexes(conn, schema)
        except _AmcheckRefused as refused:
            return _amcheck_skipped(f"amcheck is installed in {database}, but {refused}")
        finally:
            query(conn, "ROLLBACK")

    def read_only_scalar(self, conn: Any, sql: str, timeout_s: int) -> Any:
        query(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            query(conn, "SELECT set_config('statement_timeout', %s, true)", (f"{timeout_s}s",))
            with conn.cursor() as cur:
                # a prepared statement holds exactly one command: no "; COMMIT; DROP ..."
                cur.execute(sql, prepare=True)
                row = cur.fetchone() if cur.description else None
        finally:
            query(conn, "ROLLBACK")
        return row[0] if row else None


def _free_alias(table: TableFingerprint) -> str:
    """A table alias that no column shadows (a column named like the alias would win)."""
    names = {c.name for c in table.columns}
    alias = "reslab_row"
    while alias in names:
        alias += "_"
    return alias


_AMCHECK_SCHEMA_SQL = """
SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'amcheck'
"""
_EXPECTED_INDEXES = "all btree indexes OK"


class _AmcheckRefused(Exception):
    """The login may not run amcheck's functions."""


def _add_amcheck_for_this_transaction(conn: Any) -> tuple[str | None, str]:
    """Create amcheck in a new, uniquely named schema inside the open transaction (which the
    caller always rolls back): (the schema, "") or (None, why the login may not)."""
    schema = f"reslab_amcheck_{secrets.token_hex(6)}"
    try:
        query(conn, f"CREATE SCHEMA {quote_pg(schema)}")
        query(conn, f"CREATE EXTENSION amcheck SCHEMA {quote_pg(schema)}")
    except Exception as exc:
        return None, _first_line(exc)
    return schema, ""


def _amcheck_skipped(reason: str) -> CheckResult:
    return AMCHECK.skipped(reason, None, _EXPECTED_INDEXES)


def _check_indexes(conn: Any, schema: str) -> CheckResult:
    indexes = query(conn, _BTREE_INDEXES_SQL)
    check = f"{quote_pg(schema)}.bt_index_check"
    bad: list[str] = []
    for oid, index_schema, index in indexes:
        query(conn, "SAVEPOINT reslab_amcheck")
        try:
            query(conn, f"SELECT {check}(%s::oid::regclass)", (oid,))
        except Exception as exc:
            if getattr(exc, "sqlstate", None) == "42501":  # insufficient_privilege
                raise _AmcheckRefused(f"this login may not run it: {_first_line(exc)}") from exc
            query(conn, "ROLLBACK TO SAVEPOINT reslab_amcheck")
            bad.append(f"{table_key('postgres', index_schema, index)}: {_first_line(exc)}")
            continue
        query(conn, "RELEASE SAVEPOINT reslab_amcheck")
    measured = f"{len(indexes) - len(bad)} of {len(indexes)} btree indexes OK"
    return AMCHECK.result(not bad, measured, _EXPECTED_INDEXES, "; ".join(bad))


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
