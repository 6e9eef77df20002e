"""A PostgreSQL source: full load in the snapshot a logical replication slot exports, then the
slot's changes decoded by ``pgoutput`` -- the same design as the MySQL binlog source.

* The slot (one per task, ``reslab_dms_<task>``) is created over a replication connection
  (psycopg 3, ``replication="database"``) with ``(SNAPSHOT 'export')``: the full load reads
  exactly the data before the slot's consistent point, the slot delivers exactly what follows.
* psycopg 3 cannot run the streaming half of the protocol (START_REPLICATION), so the changes
  are read with ``pg_logical_slot_peek_binary_changes`` (``pgoutput``, the plugin built into
  PostgreSQL; AWS DMS uses ``test_decoding`` or ``pglogical``, not shipped by the embedded
  PostgreSQL) and the slot is advanced only past what the target committed: a stop, a failure or
  a crash never loses a change. Reading a slot is reading the WAL's decoded changes, not polling
  tables; when there is nothing new the reader waits ``IDLE_SECONDS`` before asking again.
* Values arrive as text and are turned into Python values by psycopg's own loader for each
  column's type, so full-load rows and changes are alike.
* Needs ``wal_level=logical`` (RDS: ``rds.logical_replication=1``), a user with REPLICATION (RDS:
  ``rds_replication``) and SELECT, and a publication of the tables (made here, so the user must
  own them -- the RDS master user does).
"""

from __future__ import annotations

import contextlib
import struct
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from reslab.checks.quoting import quote_pg
from reslab.dburl import DbTarget, connect
from reslab.localcloud.dbbacking import sanitise_identifier
from reslab.localcloud.dms.errors import SourceNotReady
from reslab.localcloud.dms.mappings import TableMappings
from reslab.localcloud.dms.model import Change, Commit, Idle, SourceTable, TableRef

IDLE_SECONDS = 0.05
#: Decoded rows asked for per read (whole transactions: the slot may return a few more).
READ_CHANGES = 5000
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC).timestamp()
_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")


class PostgresSource:
    engine = "postgres"

    def __init__(self, target: DbTarget, task_id: str) -> None:
        self.target = target
        self.slot = sanitise_identifier(f"reslab_dms_{task_id}")
        self._tables: list[SourceTable] = []
        self._confirmed: int | None = None

    # -- readiness and tables --------------------------------------------------------------------
    def check_ready(self) -> None:
        with connect(self.target) as conn:
            level = conn.execute("SHOW wal_level").fetchone()[0]
            if level != "logical":
                raise SourceNotReady(
                    f"the PostgreSQL source has wal_level={level}; change data capture needs "
                    "wal_level=logical (RDS: rds.logical_replication=1)"
                )
            may_replicate = conn.execute(
                "SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user"
            ).fetchone()[0]
            if not may_replicate:
                raise SourceNotReady(
                    "the PostgreSQL source user lacks REPLICATION (RDS: GRANT rds_replication)"
                )

    def discover(self, mappings: TableMappings) -> list[SourceTable]:
        with connect(self.target) as conn:
            rows = conn.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_type = 'BASE TABLE' AND table_schema <> ALL(%s) "
                "ORDER BY table_schema, table_name",
                (list(_SYSTEM_SCHEMAS),),
            ).fetchall()
            refs = [TableRef(s, t) for s, t in rows if mappings.selects(s, t)]
            self._tables = [self._table(conn, ref) for ref in refs]
        return self._tables

    @staticmethod
    def _table(conn: Any, ref: TableRef) -> SourceTable:
        columns = tuple(
            name
            for (name,) in conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                (ref.schema, ref.name),
            )
        )
        key = tuple(
            name
            for (name,) in conn.execute(
                "SELECT a.attname FROM pg_index i "
                "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indrelid = %s::regclass AND i.indisprimary "
                "ORDER BY array_position(i.indkey, a.attnum)",
                (f"{quote_pg(ref.schema)}.{quote_pg(ref.name)}",),
            )
        )
        return SourceTable(ref, columns, key or columns, has_primary_key=bool(key))

    def create_table_sql(self, table: SourceTable) -> str:
        """Columns with their types and NOT NULL, and the primary key -- what AWS DMS creates."""
        with connect(self.target) as conn:
            columns = conn.execute(
                "SELECT quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod) "
                "|| CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END "
                "FROM pg_attribute a WHERE a.attrelid = %s::regclass AND a.attnum > 0 "
                "AND NOT a.attisdropped ORDER BY a.attnum",
                (_qualified(table.ref),),
            ).fetchall()
        parts = [c for (c,) in columns]
        if table.has_primary_key:
            parts.append("PRIMARY KEY (" + ", ".join(quote_pg(c) for c in table.key) + ")")
        return f"CREATE TABLE {_qualified(table.ref)} ({', '.join(parts)})"

    # -- full load -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def snapshot(self) -> Iterator[tuple[int, _Snapshot]]:
        self.release()
        with connect(self.target) as conn:
            tables = ", ".join(_qualified(t.ref) for t in self._tables)
            if tables:
                conn.execute(f"CREATE PUBLICATION {quote_pg(self.slot)} FOR TABLE {tables}")
            else:
                conn.execute(f"CREATE PUBLICATION {quote_pg(self.slot)}")
        replication = _replication_connection(self.target)
        try:
            _, point, snapshot_name, _ = replication.execute(
                f"CREATE_REPLICATION_SLOT {quote_pg(self.slot)} LOGICAL pgoutput "
                "(SNAPSHOT 'export')"
            ).fetchone()
            reader = connect(self.target, autocommit=False)
            try:
                reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                reader.execute(f"SET TRANSACTION SNAPSHOT '{_safe_snapshot(snapshot_name)}'")
                replication.close()  # the exported snapshot is needed only until imported
                self._confirmed = _lsn(point)
                yield _lsn(point), _Snapshot(reader)
            finally:
                reader.close()
        finally:
            replication.close()

    # -- change data capture ---------------------------------------------------------------------
    def changes(
        self, position: int, tables: list[SourceTable], stop: threading.Event
    ) -> Iterator[Change | Commit | Idle]:
        wanted = {t.ref for t in tables}
        decoder = _Decoder()
        read_upto = position
        advanced = position
        with connect(self.target) as conn:
            decoder.bind(conn)
            while not stop.is_set():
                confirmed = self._confirmed or position
                if confirmed > advanced:
                    conn.execute(
                        "SELECT pg_replication_slot_advance(%s, %s::pg_lsn)",
                        (self.slot, _lsn_text(confirmed)),
                    )
                    advanced = confirmed
                polled_at = time.monotonic()
                rows = conn.execute(
                    "SELECT data FROM pg_logical_slot_peek_binary_changes(%s, NULL, %s, "
                    "'proto_version', '1', 'publication_names', %s)",
                    (self.slot, READ_CHANGES, self.slot),
                ).fetchall()
                fresh = False
                for commit in decoder.decode(bytes(data) for (data,) in rows):
                    if commit.position <= read_upto:  # read before, not yet confirmed
                        decoder.drop_pending()
                        continue
                    yield from decoder.take_pending(wanted)
                    yield commit
                    read_upto, fresh = commit.position, True
                if not fresh:
                    yield Idle(polled_at)
                    stop.wait(IDLE_SECONDS)

    def confirm(self, position: int) -> None:
        """The target committed everything up to ``position``: the slot may forget it."""
        self._confirmed = position

    def release(self) -> None:
        """Drop the task's slot and publication (a slot left behind keeps WAL forever)."""
        with connect(self.target) as conn:
            conn.execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                "WHERE slot_name = %s",
                (self.slot,),
            )
            conn.execute(f"DROP PUBLICATION IF EXISTS {quote_pg(self.slot)}")


class _Snapshot:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def rows(self, table: SourceTable, batch: int) -> Iterator[list[tuple[Any, ...]]]:
        columns = ", ".join(quote_pg(c) for c in table.columns)
        with self.conn.cursor(name=f"dms_load_{id(table)}") as cur:
            cur.itersize = batch
            cur.execute(f"SELECT {columns} FROM {_qualified(table.ref)}")  # noqa: S608 - quoted
            while chunk := cur.fetchmany(batch):
                yield [tuple(row) for row in chunk]


class _Decoder:
    """pgoutput protocol version 1 (PostgreSQL's "Logical Replication Message Formats")."""

    def __init__(self) -> None:
        self.relations: dict[int, tuple[TableRef, list[tuple[str, int]]]] = {}
        self.pending: list[Change] = []
        self.committed_at = 0.0
        self._loaders: dict[int, Any] = {}
        self._conn: Any = None

    def bind(self, conn: Any) -> None:
        self._conn = conn

    def drop_pending(self) -> None:
        self.pending = []

    def take_pending(self, wanted: set[TableRef]) -> Iterator[Change]:
        pending, self.pending = self.pending, []
        yield from (c for c in pending if c.table in wanted)

    def decode(self, messages: Iterator[bytes]) -> Iterator[Commit]:
        for message in messages:
            kind, body = message[:1], message[1:]
            if kind == b"B":
                (micros,) = struct.unpack_from(">q", body, 8)
                self.committed_at = _PG_EPOCH + micros / 1e6
                self.pending = []
            elif kind == b"C":
                (end,) = struct.unpack_from(">Q", body, 9)
                yield Commit(end, self.committed_at)
            elif kind == b"R":
                self._relation(body)
            elif kind in (b"I", b"U", b"D"):
                self.pending.append(self._change(kind, body))

    def _relation(self, body: bytes) -> None:
        (relid,) = struct.unpack_from(">I", body, 0)
        schema, at = _cstring(body, 4)
        name, at = _cstring(body, at)
        (count,) = struct.unpack_from(">H", body, at + 1)
        at += 3
        columns = []
        for _ in range(count):
            column, at = _cstring(body, at + 1)
            (type_oid,) = struct.unpack_from(">I", body, at)
            columns.append((column, type_oid))
            at += 8
        self.relations[relid] = (TableRef(schema, name), columns)

    def _change(self, kind: bytes, body: bytes) -> Change:
        (relid,) = struct.unpack_from(">I", body, 0)
        ref, columns = self.relations[relid]
        at = 4
        before = None
        if body[at : at + 1] in (b"K", b"O"):
            before, at = self._tuple(body, at + 1, columns)
        if kind == b"D":
            return Change("delete", ref, before, None)
        after, _ = self._tuple(body, at + 1, columns)  # b"N"
        return Change("insert" if kind == b"I" else "update", ref, before, after)

    def _tuple(
        self, body: bytes, at: int, columns: list[tuple[str, int]]
    ) -> tuple[dict[str, Any], int]:
        (count,) = struct.unpack_from(">H", body, at)
        at += 2
        values: dict[str, Any] = {}
        for name, type_oid in columns[:count]:
            marker = body[at : at + 1]
            at += 1
            if marker == b"t":
                (length,) = struct.unpack_from(">I", body, at)
                values[name] = self._load(type_oid, body[at + 4 : at + 4 + length])
                at += 4 + length
            else:  # b"n" NULL, b"u" unchanged TOAST value (absent from the image)
                values[name] = None
        return values, at

    def _load(self, type_oid: int, raw: bytes) -> Any:
        from psycopg.pq import Format

        loader = self._loaders.get(type_oid)
        if loader is None:
            cls = self._conn.adapters.get_loader(type_oid, Format.TEXT) or (
                self._conn.adapters.get_loader(0, Format.TEXT)
            )
            loader = self._loaders[type_oid] = cls(type_oid, self._conn)
        return loader.load(raw)


def _replication_connection(target: DbTarget) -> Any:
    import psycopg

    return psycopg.connect(
        host=target.socket_dir or target.host,
        port=target.port,
        user=target.user,
        password=target.password or None,
        dbname=target.dbname,
        autocommit=True,
        replication="database",
    )


def _cstring(body: bytes, at: int) -> tuple[str, int]:
    end = body.index(b"\x00", at)
    return body[at:end].decode(), end + 1


def _lsn(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def _lsn_text(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def _safe_snapshot(name: str) -> str:
    if not all(c.isalnum() or c == "-" for c in name):
        raise SourceNotReady(f"unexpected snapshot name from the server: {name!r}")
    return name


def _qualified(ref: TableRef) -> str:
    return f"{quote_pg(ref.schema)}.{quote_pg(ref.name)}"
