"""MySQL / MariaDB SQL for the checks (information_schema, in-database checksums, CHECK TABLE)."""

from __future__ import annotations

import re
from contextlib import suppress
from typing import Any

from reslab.checks.catalogue import CHECK_TABLE
from reslab.checks.engines.base import KeyRange, query, scalar
from reslab.checks.model import CheckResult, Column, Index, TableFingerprint
from reslab.checks.quoting import quote_mysql

_COLUMNS_SQL = """
SELECT t.TABLE_NAME, c.COLUMN_NAME, c.COLUMN_TYPE, c.IS_NULLABLE
FROM information_schema.TABLES t
LEFT JOIN information_schema.COLUMNS c
  ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME
WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE'
ORDER BY t.TABLE_NAME, c.ORDINAL_POSITION
"""

_INDEXES_SQL = """
SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, INDEX_TYPE, COLUMN_NAME, SUB_PART
FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = DATABASE()
ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX
"""

#: The checksum: exact SUM (DECIMAL: no overflow) of a 32-bit hash per row. CRC32 of the row's
#: bytes is linear over GF(2), so equal-length values swapped between two rows could cancel out
#: in the sum; hashing the CRC's decimal text again (CRC32(CRC32(...))) breaks that linearity.
#: (Two CRCs or MD5 would give 64 bits, at 1.5-2.5x the time; see docs/checks.md.)
ALGORITHM = "mysql-crc32mix-sum"
ROW_HASH = "CRC32(CRC32({r}))"

_CHECK_BATCH = 50
_BASE_TABLES_SQL = """
SELECT TABLE_NAME FROM information_schema.TABLES
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME
"""
_INTEGER_TYPE = re.compile(r"^(tiny|small|medium|big)?int\b", re.IGNORECASE)
_FLOAT_TYPE = re.compile(r"^float\b", re.IGNORECASE)


def row_bytes(columns: tuple[Column, ...]) -> str:
    """One unambiguous-enough byte string per row: values joined by 0x1F plus NULL flags.

    CONCAT_WS skips NULLs, so a trailing ``CONCAT(ISNULL(c1), ...)`` over the nullable columns
    tells NULL from the empty string. A FLOAT's text has six significant digits, so it is
    read as the DOUBLE it converts to exactly (whose text is its shortest exact form).
    """
    parts = [_exact_text(c) for c in columns]
    flags = [f"ISNULL({quote_mysql(c.name)})" for c in columns if c.nullable]
    if flags:
        parts.append(f"CONCAT({', '.join(flags)})")
    return f"CONCAT_WS(0x1f, {', '.join(parts)})"


def _exact_text(column: Column) -> str:
    name = quote_mysql(column.name)
    return f"CAST({name} AS DOUBLE)" if _FLOAT_TYPE.match(column.type) else name


class MySqlDialect:
    engine = "mysql"

    def prepare(self, conn: Any) -> None:
        # TIMESTAMP columns print in the session time zone: fix it so checksums agree
        query(conn, "SET SESSION time_zone = '+00:00'")

    def begin_snapshot(self, conn: Any, workers: int = 1) -> None:
        query(conn, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")

    def end_snapshot(self, conn: Any) -> None:
        query(conn, "COMMIT")

    def version(self, conn: Any) -> str:
        return str(scalar(conn, "SELECT VERSION()"))

    def database(self, conn: Any) -> str:
        return str(scalar(conn, "SELECT DATABASE()"))

    def user_count(self, conn: Any) -> int | None:
        try:
            return int(scalar(conn, "SELECT COUNT(*) FROM mysql.user"))
        except Exception:  # no privilege on mysql.user: not measurable
            return None

    def server_id(self, conn: Any) -> str | None:
        return str(scalar(conn, "SELECT CONCAT_WS(':', @@hostname, @@port, @@datadir)"))

    def tables(self, conn: Any) -> list[TableFingerprint]:
        columns: dict[str, list[Column]] = {}
        for table, col, coltype, nullable in query(conn, _COLUMNS_SQL):
            columns.setdefault(table, [])
            if col is not None:
                columns[table].append(Column(col, coltype, nullable == "YES"))
        parts: dict[tuple[str, str], dict[str, Any]] = {}
        for table, index, non_unique, method, col, sub_part in query(conn, _INDEXES_SQL):
            entry = parts.setdefault(
                (table, index), {"unique": not non_unique, "method": method, "columns": []}
            )
            label = col if col is not None else "(expression)"
            entry["columns"].append(f"{label}({sub_part})" if sub_part else label)
        indexes: dict[str, list[Index]] = {}
        for (table, index), e in parts.items():
            indexes.setdefault(table, []).append(
                Index(index, tuple(e["columns"]), e["unique"], e["method"])
            )
        database = self.database(conn)
        return [
            TableFingerprint(database, name, tuple(cols), tuple(indexes.get(name, ())))
            for name, cols in columns.items()
        ]

    def chunk_key(self, table: TableFingerprint) -> str | None:
        """The single integer primary-key column, by which a big table is split into ranges."""
        primary = next((i for i in table.indexes if i.name == "PRIMARY"), None)
        if primary is None or len(primary.columns) != 1:
            return None
        column = next((c for c in table.columns if c.name == primary.columns[0]), None)
        return column.name if column and _INTEGER_TYPE.match(column.type) else None

    def key_bounds(self, conn: Any, table: TableFingerprint, column: str) -> tuple[int, int] | None:
        col, name = quote_mysql(column), quote_mysql(table.name)
        low, high = query(conn, f"SELECT MIN({col}), MAX({col}) FROM {name}")[0]  # noqa: S608
        return None if low is None else (int(low), int(high))

    def table_data(
        self, conn: Any, table: TableFingerprint, key_range: KeyRange | None = None
    ) -> tuple[int, str, str] | None:
        row_hash = ROW_HASH.format(r=row_bytes(table.columns))
        name = quote_mysql(table.name)
        sql = f"SELECT COUNT(*), COALESCE(SUM({row_hash}), 0) FROM {name}"  # noqa: S608
        params = None
        if key_range is not None:
            column, low, high = key_range
            # placeholders follow: a '%' inside a quoted name must not read as one
            sql = sql.replace("%", "%%") + f" WHERE {quote_mysql(column)} BETWEEN %s AND %s"
            params = (low, high)
        rows, checksum = query(conn, sql, params)[0]
        return int(rows), str(int(checksum)), ALGORITHM

    def newest(self, conn: Any, table: TableFingerprint, column: str) -> Any:
        name = quote_mysql(table.name)
        return scalar(conn, f"SELECT MAX({quote_mysql(column)}) FROM {name}")  # noqa: S608

    def consistency(self, conn: Any) -> CheckResult:
        tables = [str(name) for (name,) in query(conn, _BASE_TABLES_SQL)]
        bad: list[str] = []
        notes: list[str] = []
        for start in range(0, len(tables), _CHECK_BATCH):
            batch = tables[start : start + _CHECK_BATCH]
            names = ", ".join(quote_mysql(name) for name in batch)
            for table, _op, msg_type, msg_text in query(conn, f"CHECK TABLE {names}"):
                kind = str(msg_type).lower()
                if kind == "error" or (kind == "status" and str(msg_text) != "OK"):
                    bad.append(f"{table}: {msg_text}")
                elif kind == "note":
                    notes.append(f"{table}: {msg_text}")
        measured = f"{len(tables) - len({b.split(':')[0] for b in bad})} of {len(tables)} tables OK"
        details = "; ".join(bad + notes)
        return CHECK_TABLE.result(not bad, measured, "all tables OK", details)

    def read_only_scalar(self, conn: Any, sql: str, timeout_s: int) -> Any:
        # the session-wide setting also refuses DDL, which would otherwise commit implicitly
        # and escape a READ ONLY transaction; PyMySQL sends one statement (no multi-statements)
        query(conn, "SET SESSION TRANSACTION READ ONLY")
        with suppress(Exception):  # MySQL proper has no max_statement_time: no time limit
            query(conn, "SET SESSION max_statement_time = %s", (timeout_s,))
        try:
            query(conn, "START TRANSACTION READ ONLY")
            try:
                rows = query(conn, sql)
            finally:
                query(conn, "ROLLBACK")
        finally:
            query(conn, "SET SESSION TRANSACTION READ WRITE")
            with suppress(Exception):
                query(conn, "SET SESSION max_statement_time = 0")
        return rows[0][0] if rows else None
