"""A MySQL/MariaDB source: full load in a consistent snapshot, then the binary log.

Change capture reads the row-based binary log as a replica does (COM_BINLOG_DUMP, through the
``mysql-replication`` library on PyMySQL), which is what AWS DMS does: it needs the same server
settings (``log_bin`` on, ``binlog_format=ROW``, ``binlog_row_image=FULL``) and the same grants
(REPLICATION CLIENT, REPLICATION SLAVE, SELECT), and it sees every committed change exactly once,
in commit order, with nothing but the binary log to read -- no table is ever polled.

Snapshot and position: the binlog position is read *before* the snapshot opens, so the stream
replays a few changes the snapshot already holds; every change carries the full row image and the
target applies it by key (upsert / delete), so replaying them converges to the source's state.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from reslab.checks.quoting import quote_mysql
from reslab.dburl import DbTarget, connect
from reslab.localcloud.dms.errors import SourceNotReady
from reslab.localcloud.dms.mappings import TableMappings
from reslab.localcloud.dms.model import Change, Commit, Idle, SourceTable, TableRef

#: The source sends a heartbeat this often when idle, so a stop is seen within this time.
HEARTBEAT_SECONDS = 0.25
_SYSTEM_SCHEMAS = ("mysql", "information_schema", "performance_schema", "sys")
#: What ``check_ready`` requires, as AWS DMS does for a MySQL source.
REQUIRED_SETTINGS: dict[str, str] = {
    "log_bin": "1",
    "binlog_format": "ROW",
    "binlog_row_image": "FULL",
}


@dataclass(frozen=True)
class BinlogPosition:
    file: str
    offset: int


class MySQLSource:
    engine = "mysql"

    def __init__(self, target: DbTarget) -> None:
        self.target = target

    # -- readiness and tables --------------------------------------------------------------------
    def check_ready(self) -> None:
        conn = connect(self.target)
        try:
            with conn.cursor() as cur:
                names = ", ".join(f"@@{name}" for name in REQUIRED_SETTINGS)
                cur.execute(f"SELECT {names}")
                row = cur.fetchone()
                for (name, wanted), value in zip(REQUIRED_SETTINGS.items(), row, strict=True):
                    if str(value).upper() != wanted:
                        raise SourceNotReady(
                            f"the MySQL source has {name}={value}; change data capture needs "
                            f"{name}={wanted}"
                        )
            self._position(conn)
        finally:
            conn.close()

    def discover(self, mappings: TableMappings) -> list[SourceTable]:
        conn = connect(self.target)
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT table_schema, table_name FROM information_schema.tables "
                    "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN %s "
                    "ORDER BY table_schema, table_name",
                    (_SYSTEM_SCHEMAS,),
                )
                refs = [TableRef(s, t) for s, t in cur.fetchall() if mappings.selects(s, t)]
                return [self._table(cur, ref) for ref in refs]
        finally:
            conn.close()

    @staticmethod
    def _table(cur: Any, ref: TableRef) -> SourceTable:
        cur.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            (ref.schema, ref.name),
        )
        columns = tuple(name for (name,) in cur.fetchall())
        cur.execute(
            "SELECT column_name FROM information_schema.key_column_usage "
            "WHERE table_schema = %s AND table_name = %s AND constraint_name = 'PRIMARY' "
            "ORDER BY ordinal_position",
            (ref.schema, ref.name),
        )
        key = tuple(name for (name,) in cur.fetchall())
        return SourceTable(ref, columns, key or columns, has_primary_key=bool(key))

    def create_table_sql(self, table: SourceTable) -> str:
        """The source's own DDL (TargetTablePrepMode DROP_AND_CREATE to a MySQL target)."""
        conn = connect(self.target)
        try:
            with conn.cursor() as cur:
                cur.execute(f"SHOW CREATE TABLE {_qualified(table.ref)}")
                return str(cur.fetchone()[1])
        finally:
            conn.close()

    # -- full load -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def snapshot(self) -> Iterator[tuple[BinlogPosition, _Snapshot]]:
        conn = connect(self.target, autocommit=False)
        try:
            position = self._position(conn)
            with conn.cursor() as cur:
                cur.execute("SET SESSION time_zone = '+00:00'")
                cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            yield position, _Snapshot(conn)
            conn.rollback()
        finally:
            conn.close()

    def _position(self, conn: Any) -> BinlogPosition:
        import pymysql

        try:
            with conn.cursor() as cur:
                cur.execute("SHOW MASTER STATUS")
                row = cur.fetchone()
        except pymysql.err.OperationalError as exc:
            raise SourceNotReady(
                f"the MySQL source user cannot read the binary log position "
                f"(needs REPLICATION CLIENT): {exc.args[-1]}"
            ) from None
        if not row:
            raise SourceNotReady("the MySQL source has no binary log (log_bin is OFF)")
        return BinlogPosition(str(row[0]), int(row[1]))

    # -- change data capture ---------------------------------------------------------------------
    def changes(
        self,
        position: BinlogPosition,
        tables: list[SourceTable],
        stop: threading.Event,
    ) -> Iterator[Change | Commit | Idle]:
        from pymysqlreplication import BinLogStreamReader
        from pymysqlreplication.event import HeartbeatLogEvent, XidEvent
        from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

        by_ref = {t.ref: t for t in tables}
        stream = BinLogStreamReader(
            connection_settings={
                "host": self.target.host,
                "port": self.target.port,
                "user": self.target.user,
                "password": self.target.password,
            },
            # A replica's server_id must differ from every other replica of the source.
            server_id=secrets.randbelow(2**31 - 100_000) + 100_000,
            resume_stream=True,
            blocking=True,
            log_file=position.file,
            log_pos=position.offset,
            only_events=[
                WriteRowsEvent,
                UpdateRowsEvent,
                DeleteRowsEvent,
                XidEvent,
                HeartbeatLogEvent,
            ],
            slave_heartbeat=HEARTBEAT_SECONDS,
            enable_logging=False,
        )
        try:
            for event in iter(stream.fetchone, None):
                if stop.is_set():
                    return
                if isinstance(event, HeartbeatLogEvent):
                    yield Idle()
                elif isinstance(event, XidEvent):
                    done = BinlogPosition(stream.log_file, stream.log_pos)
                    yield Commit(done, float(event.timestamp) or time.time())
                else:
                    table = by_ref.get(TableRef(event.schema, event.table))
                    if table is not None:
                        yield from _row_changes(event, table)
        finally:
            stream.close()

    def confirm(self, position: BinlogPosition) -> None:
        """Nothing to acknowledge: the binary log is kept for its retention period."""

    def release(self) -> None:
        """Nothing to drop (a binlog reader leaves no state on the source)."""


class _Snapshot:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def rows(self, table: SourceTable, batch: int) -> Iterator[list[tuple[Any, ...]]]:
        import pymysql.cursors

        columns = ", ".join(quote_mysql(c) for c in table.columns)
        with self.conn.cursor(pymysql.cursors.SSCursor) as cur:
            cur.execute(f"SELECT {columns} FROM {_qualified(table.ref)}")  # noqa: S608 - quoted
            while chunk := cur.fetchmany(batch):
                yield [tuple(row) for row in chunk]


def _qualified(ref: TableRef) -> str:
    return f"{quote_mysql(ref.schema)}.{quote_mysql(ref.name)}"


def _named(values: dict[str, Any], table: SourceTable) -> dict[str, Any]:
    """Row images by column name (without ``binlog_row_metadata=FULL`` the library names the
    columns ``UNKNOWN_COL<i>``: the table's own column order names them)."""
    if all(name in values for name in table.columns):
        return dict(values)
    ordered = list(values.values())
    return dict(zip(table.columns, ordered, strict=False))


def _row_changes(event: Any, table: SourceTable) -> Iterator[Change]:
    from pymysqlreplication.row_event import UpdateRowsEvent, WriteRowsEvent

    for row in event.rows:
        if isinstance(event, UpdateRowsEvent):
            before = _named(row["before_values"], table)
            after = _named(row["after_values"], table)
            yield Change("update", table.ref, before, after)
        elif isinstance(event, WriteRowsEvent):
            yield Change("insert", table.ref, None, _named(row["values"], table))
        else:
            yield Change("delete", table.ref, _named(row["values"], table), None)
