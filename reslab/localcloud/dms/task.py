"""One replication task: the states AWS DMS shows, a full load, then change data capture.

::

    task = ReplicationTask("lab-task", source_db, target_db, mappings)      # status "ready"
    task.start()                       # "starting" -> "running": full load, then CDC
    task.wait_until_caught_up()        # every change read so far is committed on the target
    task.table_statistics()            # DescribeTableStatistics rows
    task.latency()                     # CDCLatencySource / CDCLatencyTarget (seconds)
    task.stop()                        # "stopping" -> "stopped"; start("resume-processing") resumes

Two threads while running: the reader follows the source's change stream into a queue; the
applier applies whole source transactions to the target, several per target transaction when the
queue holds more (batching only what is already there, so an idle task adds no delay). The
resume position is the end of the last source transaction committed on the target.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from reslab.dburl import DbTarget
from reslab.errors import ReslabError
from reslab.localcloud.dms.errors import InvalidTaskSettings, UnsupportedEndpoint
from reslab.localcloud.dms.mappings import TableMappings
from reslab.localcloud.dms.model import (
    Change,
    Commit,
    Idle,
    SourceTable,
    TableRef,
    TableStatistics,
)
from reslab.localcloud.dms.target import PREP_MODES, Target

MIGRATION_TYPES = ("full-load", "cdc", "full-load-and-cdc")
START_TYPES = ("start-replication", "resume-processing", "reload-target")
#: Source transactions applied in one target transaction at most (only when already queued).
APPLY_BATCH_CHANGES = 2000
_POLL_SECONDS = 0.05

#: Called after each target commit with the changes it made durable and the commit time.
Observer = Callable[[list[Change], float], None]


class Source(Protocol):
    engine: str

    def check_ready(self) -> None: ...

    def discover(self, mappings: TableMappings) -> list[SourceTable]: ...

    def create_table_sql(self, table: SourceTable) -> str: ...

    def snapshot(self) -> contextlib.AbstractContextManager[tuple[Any, Any]]: ...

    def changes(self, position: Any, tables: list[SourceTable], stop: threading.Event) -> Any: ...

    def confirm(self, position: Any) -> None: ...

    def release(self) -> None: ...


def source_for(db: DbTarget, task_id: str) -> Source:
    if db.engine == "mysql":
        from reslab.localcloud.dms.mysql_source import MySQLSource

        return MySQLSource(db)
    if db.engine == "postgres":
        from reslab.localcloud.dms.postgres_source import PostgresSource

        return PostgresSource(db, task_id)
    raise UnsupportedEndpoint(f"no local source for engine {db.engine!r}")


@dataclass(frozen=True)
class TaskSettings:
    prep_mode: str = "DROP_AND_CREATE"
    commit_rate: int = 10000

    @classmethod
    def parse(cls, text: str | None) -> TaskSettings:
        if not text:
            return cls()
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidTaskSettings(f"ReplicationTaskSettings is not JSON: {exc.msg}") from None
        full_load = doc.get("FullLoadSettings") or {}
        mode = full_load.get("TargetTablePrepMode", cls.prep_mode)
        if mode not in PREP_MODES:
            raise InvalidTaskSettings(f"TargetTablePrepMode {mode!r} is not one of {PREP_MODES}")
        rate = int(full_load.get("CommitRate", cls.commit_rate))
        if not 1 <= rate <= 50000:
            raise InvalidTaskSettings(f"CommitRate {rate} is not between 1 and 50000")
        return cls(prep_mode=mode, commit_rate=rate)


class ReplicationTask:
    def __init__(
        self,
        identifier: str,
        source: DbTarget,
        target: DbTarget,
        mappings: TableMappings,
        migration_type: str = "full-load-and-cdc",
        settings: TaskSettings | None = None,
        target_schema: str | None = None,
        observer: Observer | None = None,
    ) -> None:
        if migration_type not in MIGRATION_TYPES:
            raise InvalidTaskSettings(f"MigrationType {migration_type!r} not in {MIGRATION_TYPES}")
        self.identifier = identifier
        self.source_db, self.target_db = source, target
        self.mappings = mappings
        self.migration_type = migration_type
        self.settings = settings or TaskSettings()
        self.target_schema = target_schema
        self.observer = observer
        self.source = source_for(source, identifier)
        self.status = "ready"
        self.stop_reason: str | None = None
        self.last_failure: str | None = None
        self.started_at: float | None = None
        self.stopped_at: float | None = None
        self.full_load_started: float | None = None
        self.full_load_finished: float | None = None
        self.tables: list[SourceTable] = []
        self.statistics: dict[TableRef, TableStatistics] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._queue: queue.Queue[Change | Commit] = queue.Queue()
        self._applied_position: Any = None
        self._unapplied_commits: deque[float] = deque()
        self._last_read_commit: float | None = None
        self._reader_idle_at = 0.0
        self._drained_at = 0.0

    # -- control -------------------------------------------------------------------------------
    def start(self, start_type: str = "start-replication") -> None:
        if start_type not in START_TYPES:
            raise InvalidTaskSettings(
                f"StartReplicationTaskType {start_type!r} not in {START_TYPES}"
            )
        with self._lock:
            if self.status not in ("ready", "stopped", "failed"):
                raise TaskStateError(
                    f"the task is {self.status}: it can start when ready or stopped"
                )
            self.status = "starting"
            self.stop_reason = self.last_failure = None
            self.started_at, self.stopped_at = time.time(), None
            self._stop = threading.Event()
            self._queue = queue.Queue()
            self._unapplied_commits.clear()
        resume = start_type == "resume-processing" and self._applied_position is not None
        runner = threading.Thread(
            target=self._run, args=(resume,), name=f"dms-{self.identifier}", daemon=True
        )
        self._threads = [runner]
        runner.start()

    def stop(self, timeout: float = 30.0) -> None:
        with self._lock:
            if self.status not in ("starting", "running"):
                raise TaskStateError(f"the task is {self.status}: only a running task stops")
            self.status = "stopping"
        self._stop.set()
        self.join(timeout)

    def join(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))

    def delete(self) -> None:
        """Stop (if running) and drop what the task keeps on the source (a PostgreSQL slot)."""
        with contextlib.suppress(TaskStateError):
            self.stop()
        self.source.release()

    # -- the run -------------------------------------------------------------------------------
    def _run(self, resume: bool) -> None:
        target: Target | None = None
        try:
            self.source.check_ready()
            self.tables = self.source.discover(self.mappings)
            if not resume:
                self.statistics = {t.ref: TableStatistics(t.ref) for t in self.tables}
            target = Target(self.target_db, self.target_schema)
            self._set_status("running")
            position = self._applied_position if resume else self._full_load(target)
            if self.migration_type == "full-load":
                self._finish("Stop Reason FULL_LOAD_ONLY_FINISHED")
                return
            self._capture(position, target)
            self._finish("Stop Reason NORMAL")
        except Exception as exc:  # noqa: BLE001 - AWS shows it on the task, not the API
            self._fail(exc)
        finally:
            if target is not None:
                with contextlib.suppress(Exception):
                    target.close()

    def _full_load(self, target: Target) -> Any:
        load = self.migration_type != "cdc"
        with self.source.snapshot() as (position, snapshot):
            self.full_load_started = time.time() if load else None
            for table in self.tables if load else ():
                if self._stop.is_set():
                    break
                self._load_table(target, snapshot, table)
            self.full_load_finished = time.time() if load else None
        return position

    def _load_table(self, target: Target, snapshot: Any, table: SourceTable) -> None:
        stats = self.statistics[table.ref]
        stats.state, stats.full_load_started = "Full load", time.time()
        same_engine = self.source.engine == target.engine
        create_sql = (
            self.source.create_table_sql(table)
            if same_engine and self.settings.prep_mode == "DROP_AND_CREATE"
            else None
        )
        target.prepare(table, self.settings.prep_mode, create_sql)
        for rows in snapshot.rows(table, self.settings.commit_rate):
            target.load(table, rows)
            target.commit()
            stats.full_load_rows += len(rows)
        stats.state, stats.full_load_ended = "Table completed", time.time()

    def _capture(self, position: Any, target: Target) -> None:
        self._applied_position = position
        reader = threading.Thread(
            target=self._read, args=(position,), name=f"dms-read-{self.identifier}", daemon=True
        )
        self._threads.append(reader)
        reader.start()
        self._apply(target)
        reader.join()
        if self.last_failure:
            raise _ReaderFailed(self.last_failure)

    def _read(self, position: Any) -> None:
        try:
            for item in self.source.changes(position, self.tables, self._stop):
                if isinstance(item, Idle):
                    self._reader_idle_at = item.as_of
                    continue
                if isinstance(item, Commit):
                    with self._lock:
                        self._unapplied_commits.append(item.committed_at)
                        self._last_read_commit = item.committed_at
                self._queue.put(item)
        except Exception as exc:  # noqa: BLE001 - ends the task as failed
            self.last_failure = _describe(exc)
            self._stop.set()

    def _apply(self, target: Target) -> None:
        tables = {t.ref: t for t in self.tables}
        ready: list[Change] = []
        transaction: list[Change] = []
        last: Commit | None = None
        commits = 0
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                self._drained_at = time.monotonic()
                continue
            if isinstance(item, Change):
                transaction.append(item)
                continue
            ready.extend(transaction)
            transaction, last, commits = [], item, commits + 1
            if self._queue.empty() or len(ready) >= APPLY_BATCH_CHANGES:
                self._flush(target, tables, ready, last, commits)
                ready, commits = [], 0
                if self._queue.empty():
                    self._drained_at = time.monotonic()

    def _flush(
        self,
        target: Target,
        tables: dict[TableRef, SourceTable],
        changes: list[Change],
        last: Commit,
        commits: int,
    ) -> None:
        target.apply(tables, changes)
        target.commit()
        applied_at = time.time()
        self.source.confirm(last.position)
        with self._lock:
            self._applied_position = last.position
            for _ in range(commits):
                self._unapplied_commits.popleft()
        for change in changes:
            self.statistics[change.table].count(change.op, applied_at)
        if self.observer is not None and changes:
            self.observer(changes, applied_at)

    # -- states --------------------------------------------------------------------------------
    def _set_status(self, status: str) -> None:
        with self._lock:
            if self.status == "starting":
                self.status = status

    def _finish(self, reason: str) -> None:
        with self._lock:
            self.status, self.stop_reason, self.stopped_at = "stopped", reason, time.time()

    def _fail(self, exc: BaseException) -> None:
        with self._lock:
            self.last_failure = _describe(exc)
            self.status, self.stop_reason = "failed", "Stop Reason FATAL_ERROR"
            self.stopped_at = time.time()
            for stats in self.statistics.values():
                if stats.state == "Full load":
                    stats.state = "Table error"
        self._stop.set()

    # -- what DescribeReplicationTasks, DescribeTableStatistics and CloudWatch show -------------
    def table_statistics(self) -> list[dict[str, Any]]:
        return [s.to_aws() for s in self.statistics.values()]

    def task_stats(self) -> dict[str, Any]:
        states = [s.state for s in self.statistics.values()]
        loaded = states.count("Table completed")
        total = len(states)
        now = self.stopped_at or time.time()
        return {
            "FullLoadProgressPercent": int(100 * loaded / total) if total else 0,
            "ElapsedTimeMillis": int(1000 * (now - self.started_at)) if self.started_at else 0,
            "TablesLoaded": loaded,
            "TablesLoading": states.count("Full load"),
            "TablesQueued": states.count("Before load"),
            "TablesErrored": states.count("Table error"),
            "FreshStartDate": self.started_at,
            "StartDate": self.started_at,
            "StopDate": self.stopped_at,
            "FullLoadStartDate": self.full_load_started,
            "FullLoadFinishDate": self.full_load_finished,
        }

    def latency(self) -> dict[str, float]:
        """CDCLatencySource: age of the last change read (0 when the reader is caught up);
        CDCLatencyTarget: age of the oldest change read but not yet committed on the target."""
        now = time.time()
        with self._lock:
            oldest = self._unapplied_commits[0] if self._unapplied_commits else None
            last_read = self._last_read_commit
        caught_up = self._reader_idle_at > 0 and self._queue.empty() and oldest is None
        source = 0.0 if caught_up or last_read is None else max(0.0, now - last_read)
        target = 0.0 if oldest is None else max(0.0, now - oldest)
        return {"CDCLatencySource": source, "CDCLatencyTarget": max(source, target)}

    def full_load_done(self) -> bool:
        return self.full_load_finished is not None or self.migration_type == "cdc"

    def wait_until_loaded(self, timeout: float = 60.0) -> None:
        self._wait(self.full_load_done, timeout, "the full load to finish")

    def wait_until_caught_up(self, timeout: float = 60.0) -> None:
        """Every change committed on the source before this call is committed on the target."""
        since = time.monotonic()

        def caught_up() -> bool:
            with self._lock:
                pending = bool(self._unapplied_commits)
            return (
                self._reader_idle_at > since
                and self._drained_at > self._reader_idle_at
                and self._queue.empty()
                and not pending
            )

        self._wait(caught_up, timeout, "change data capture to catch up")

    def _wait(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if self.status in ("failed", "stopped"):
                raise TaskStateError(
                    f"task {self.identifier} is {self.status} while waiting for {what}"
                    + (f": {self.last_failure}" if self.last_failure else "")
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"task {self.identifier}: no {what} within {timeout:.0f} s")
            time.sleep(0.02)


class TaskStateError(ReslabError):
    """The task is not in a state that allows the call (AWS: InvalidResourceStateFault)."""


class _ReaderFailed(ReslabError):
    """The change stream ended with an error (its message is the task's failure message)."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, _ReaderFailed):
        return str(exc)
    name = exc.name if isinstance(exc, ReslabError) else type(exc).__name__
    return f"{name}: {exc}"
