"""What flows between a source, the task and a target: tables, changes, commits, positions."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

Op = Literal["insert", "update", "delete"]


@dataclass(frozen=True)
class TableRef:
    schema: str
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class SourceTable:
    ref: TableRef
    columns: tuple[str, ...]
    #: The primary key, or every column when the table has none (AWS DMS then matches on all).
    key: tuple[str, ...]
    has_primary_key: bool = True


@dataclass(frozen=True)
class Change:
    """One row change with full images (MySQL ``binlog_row_image=FULL``; PostgreSQL: the new
    tuple, and the old key for deletes and key-changing updates)."""

    op: Op
    table: TableRef
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class Commit:
    """The end of a source transaction: where to resume after it, and when it committed."""

    position: Any
    committed_at: float  # epoch seconds (MySQL: whole seconds; PostgreSQL: microseconds)


@dataclass(frozen=True)
class Idle:
    """The source has nothing more right now (heartbeat / empty poll): the reader is caught up
    with every change committed before ``as_of`` (``time.monotonic()``)."""

    #: An empty poll proves nothing about commits made while it ran: the poll's START, not the
    #: moment its empty answer arrived (a loaded machine stretches the gap to seconds).
    as_of: float = field(default_factory=time.monotonic)


@dataclass
class TableStatistics:
    """One row of DescribeTableStatistics (AWS field names in :meth:`to_aws`)."""

    ref: TableRef
    state: str = "Before load"
    full_load_rows: int = 0
    inserts: int = 0
    updates: int = 0
    deletes: int = 0
    full_load_started: float | None = None
    full_load_ended: float | None = None
    last_update: float | None = None
    errors: list[str] = field(default_factory=list)

    def count(self, op: Op, when: float) -> None:
        if op == "insert":
            self.inserts += 1
        elif op == "update":
            self.updates += 1
        else:
            self.deletes += 1
        self.last_update = when

    def to_aws(self) -> dict[str, Any]:
        return {
            "SchemaName": self.ref.schema,
            "TableName": self.ref.name,
            "Inserts": self.inserts,
            "Deletes": self.deletes,
            "Updates": self.updates,
            "Ddls": 0,
            "AppliedInserts": self.inserts,
            "AppliedDeletes": self.deletes,
            "AppliedUpdates": self.updates,
            "AppliedDdls": 0,
            "FullLoadRows": self.full_load_rows,
            "FullLoadCondtnlChkFailedRows": 0,
            "FullLoadErrorRows": 0,
            "FullLoadStartTime": self.full_load_started,
            "FullLoadEndTime": self.full_load_ended,
            "FullLoadReloaded": False,
            "LastUpdateTime": self.last_update,
            "TableState": self.state,
            "ValidationPendingRecords": 0,
            "ValidationFailedRecords": 0,
            "ValidationSuspendedRecords": 0,
            "ValidationState": "Not enabled",
        }
