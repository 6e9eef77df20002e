"""A target endpoint: prepares the tables, loads rows, applies changes by key.

Every change is applied as the state its row must end in (the full after image, or its
absence), never as a delta, so a change applied twice -- the few the full load already holds,
or those replayed after a resume -- leaves the same row. Consecutive changes of one kind to one
table go to the server as one batch (``executemany``).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import Any

from reslab.checks.quoting import quote_ident
from reslab.dburl import DbTarget, connect
from reslab.localcloud.dms.errors import InvalidTaskSettings
from reslab.localcloud.dms.model import Change, SourceTable, TableRef

#: FullLoadSettings.TargetTablePrepMode values AWS DMS accepts.
PREP_MODES = ("DROP_AND_CREATE", "TRUNCATE_BEFORE_LOAD", "DO_NOTHING")


class Target:
    def __init__(self, target: DbTarget, target_schema: str | None = None) -> None:
        self.target = target
        self.engine = target.engine
        #: Where every source table goes: one schema (a MySQL target endpoint with
        #: ``TargetDbType=specific-database`` writes into its DatabaseName), or None: the schema
        #: of the source's name (AWS DMS's default, ``multiple-databases``).
        self.target_schema = target_schema
        self.conn = connect(target, autocommit=False)
        if self.engine == "mysql":
            with self.conn.cursor() as cur:
                cur.execute("SET SESSION time_zone = '+00:00'")
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()

    def commit(self) -> None:
        self.conn.commit()

    def _name(self, ref: TableRef) -> str:
        return quote_ident(self.engine, self.target_schema or ref.schema, ref.name)

    # -- preparation and full load -----------------------------------------------------------
    def prepare(self, table: SourceTable, mode: str, create_sql: str | None) -> None:
        if mode not in PREP_MODES:
            raise InvalidTaskSettings(f"TargetTablePrepMode {mode!r} is not one of {PREP_MODES}")
        name = self._name(table.ref)
        with self.conn.cursor() as cur:
            if mode == "DROP_AND_CREATE":
                if create_sql is None:
                    raise InvalidTaskSettings(
                        "DROP_AND_CREATE needs a source of the target's engine locally; "
                        "create the target tables and use TRUNCATE_BEFORE_LOAD"
                    )
                cur.execute(f"DROP TABLE IF EXISTS {name}")
                cur.execute(self._retarget(create_sql, table.ref))
            elif mode == "TRUNCATE_BEFORE_LOAD":
                cur.execute(f"TRUNCATE TABLE {name}")
        self.conn.commit()

    def _retarget(self, create_sql: str, ref: TableRef) -> str:
        """``CREATE TABLE `t` ...`` from SHOW CREATE TABLE, made to name the target table."""
        head, _, rest = create_sql.partition("(")
        return f"CREATE TABLE {self._name(ref)} ({rest}" if "CREATE TABLE" in head else create_sql

    def load(self, table: SourceTable, rows: Sequence[tuple[Any, ...]]) -> None:
        columns = ", ".join(quote_ident(self.engine, c) for c in table.columns)
        marks = ", ".join(["%s"] * len(table.columns))
        with self.conn.cursor() as cur:
            sql = f"INSERT INTO {self._name(table.ref)} ({columns}) VALUES ({marks})"  # noqa: S608
            cur.executemany(sql, rows)

    # -- change data capture -----------------------------------------------------------------
    def apply(self, tables: dict[TableRef, SourceTable], changes: Sequence[Change]) -> None:
        """Apply ``changes`` in order (not committed: :meth:`commit`)."""
        steps: list[tuple[str, TableRef, tuple[Any, ...]]] = []
        for change in changes:
            table = tables[change.table]
            before, after = change.before, change.after
            if before is not None and (after is None or _key(table, before) != _key(table, after)):
                steps.append(("delete", change.table, _key(table, before)))
            if after is not None:
                steps.append(("upsert", change.table, tuple(after[c] for c in table.columns)))
        with self.conn.cursor() as cur:
            for (kind, ref), group in groupby(steps, key=lambda s: (s[0], s[1])):
                sql = (self._upsert_sql if kind == "upsert" else self._delete_sql)(tables[ref])
                cur.executemany(sql, [params for _, _, params in group])

    def _upsert_sql(self, table: SourceTable) -> str:
        columns = [quote_ident(self.engine, c) for c in table.columns]
        names, marks = ", ".join(columns), ", ".join(["%s"] * len(columns))
        if self.engine == "mysql":
            # REPLACE also removes a row that holds one of the new row's unique values: the
            # source cannot have both, so the target must not either.
            return f"REPLACE INTO {self._name(table.ref)} ({names}) VALUES ({marks})"  # noqa: S608
        insert = f"INSERT INTO {self._name(table.ref)} ({names}) VALUES ({marks})"  # noqa: S608
        if not table.has_primary_key:
            return insert  # nothing to conflict on: AWS DMS has the same limit
        keys = ", ".join(quote_ident(self.engine, c) for c in table.key)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns)
        return f"{insert} ON CONFLICT ({keys}) DO UPDATE SET {updates}"

    def _delete_sql(self, table: SourceTable) -> str:
        same = "<=>" if self.engine == "mysql" else "IS NOT DISTINCT FROM"
        where = " AND ".join(f"{quote_ident(self.engine, c)} {same} %s" for c in table.key)
        return f"DELETE FROM {self._name(table.ref)} WHERE {where}"  # noqa: S608 - quoted


def _key(table: SourceTable, row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row.get(c) for c in table.key)
