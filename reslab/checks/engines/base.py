"""What every engine module provides, and the small DB-API helpers they share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from reslab.checks.errors import UnsupportedConnection
from reslab.checks.model import CheckResult, TableFingerprint

Row = tuple[Any, ...]
#: (key column, lowest value, highest value), both ends included.
KeyRange = tuple[str, int, int]


def engine_of(conn: object) -> str:
    """``postgres`` for a psycopg 3 connection, ``mysql`` for a PyMySQL one (no import)."""
    engine = driver_of(conn)
    if engine is None:
        raise UnsupportedConnection(f"not a psycopg 3 or PyMySQL connection: {type(conn).__name__}")
    return engine


def driver_of(conn: object) -> str | None:
    """``postgres``, ``mysql`` or None, from the module of the connection's class or of a
    class it derives from (``reslab.dburl`` makes PyMySQL connections of a subclass)."""
    for cls in type(conn).__mro__:
        if cls.__module__.startswith("psycopg"):
            return "postgres"
        if cls.__module__.startswith("pymysql"):
            return "mysql"
    return None


def query(conn: Any, sql: str, params: Sequence[Any] | None = None) -> list[Row]:
    """Run one statement, return all rows (empty list for statements without a result)."""
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return list(cur.fetchall()) if cur.description else []


def scalar(conn: Any, sql: str, params: Sequence[Any] | None = None) -> Any:
    rows = query(conn, sql, params)
    return rows[0][0] if rows else None


class Dialect(Protocol):
    """The engine-specific half of the checks; everything else is engine-neutral."""

    engine: str

    def prepare(self, conn: Any) -> None:
        """Session settings that make results independent of the session (time zone...)."""

    def begin_snapshot(self, conn: Any, workers: int = 1) -> None:
        """Start a read-only transaction so that all tables are read at one instant; a table
        is read by at most ``workers`` processes of the server (where it parallelises scans
        itself)."""

    def end_snapshot(self, conn: Any) -> None: ...

    def version(self, conn: Any) -> str: ...

    def database(self, conn: Any) -> str: ...

    def user_count(self, conn: Any) -> int | None: ...

    def server_id(self, conn: Any) -> str | None:
        """Identifies the server (cluster) whose roles the database shares, if readable."""

    def tables(self, conn: Any) -> list[TableFingerprint]:
        """Base tables with columns and indexes (no data summary yet)."""

    def table_data(
        self, conn: Any, table: TableFingerprint, key_range: KeyRange | None = None
    ) -> tuple[int, str, str] | None:
        """(row count, checksum, algorithm name) computed in the database; None if no data.

        With ``key_range`` only the rows whose key lies in the range are summarised."""

    def chunk_key(self, table: TableFingerprint) -> str | None:
        """A key column to split the table into ranges summarised in parallel, or None."""

    def key_bounds(self, conn: Any, table: TableFingerprint, column: str) -> tuple[int, int] | None:
        """Lowest and highest value of the key column (None for an empty table)."""

    def newest(self, conn: Any, table: TableFingerprint, column: str) -> Any: ...

    def consistency(self, conn: Any) -> CheckResult:
        """The engine's own integrity check of every table or index of the database."""

    def read_only_scalar(self, conn: Any, sql: str, timeout_s: int) -> Any:
        """Run one caller-supplied statement in a READ ONLY transaction; first column of row 1."""
