"""Where hits go: straight to the database (fragile), or via a bounded buffer (resilient).

Fragile mode (the classic lab): every hit is an INSERT; a database error is the caller's
problem (the page answers 500).

Resilient mode: a database error marks the store *degraded*; hits are then appended to a
bounded in-memory queue and requests stop touching the database. A background thread
retries every ``retry_seconds``; once ``SELECT 1`` answers it leaves degraded mode (new hits
go straight to the database again) and flushes the queue in transactions (a batch is either
all written or put back), so no hit taken while degraded is lost after the reconnect (unless
the queue overflowed: ``dropped`` counts those, oldest first). Every hit carries a unique
``hit_id`` and the INSERT ignores one already there, so a retried write never doubles a row.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import astuple, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from webapp.db import DbTarget, Engine, connect, run_in_transaction

LOG = logging.getLogger("webapp")
T = TypeVar("T")

_INSERT = (
    "INSERT INTO hits (hit_id, client_ip, user_agent, hit_time, instance_id, availability_zone) "
    "VALUES (%s, %s, %s, %s, %s, %s)"
)
# hit_id is unique: writing a hit twice (a retry after a lost reply, a flush of a hit whose
# first write did land) keeps one row, so hits are written exactly once.
INSERT_HIT: dict[Engine, str] = {
    "postgres": _INSERT + " ON CONFLICT (hit_id) DO NOTHING",
    "mysql": _INSERT + " ON DUPLICATE KEY UPDATE hit_id = hit_id",
}
COUNT_RECENT = "SELECT COUNT(*) FROM hits WHERE hit_time >= %s"
RECENT_WINDOW = timedelta(minutes=5)
FLUSH_BATCH = 500
MAX_IDLE_CONNECTIONS = 8
RELOAD_INTERVAL_S = 30.0
# Column widths in webapp/schema/*.sql: longer header values are cut to fit.
MAX_IP = 255
MAX_USER_AGENT = 1024


def utcnow() -> datetime:
    """Naive UTC: both schemas store hit_time as a zone-less timestamp in UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Hit:
    hit_id: str
    client_ip: str
    user_agent: str
    hit_time: datetime
    instance_id: str
    availability_zone: str

    @classmethod
    def now(cls, client_ip: str, user_agent: str, instance_id: str, az: str) -> Hit:
        return cls(
            uuid.uuid4().hex,
            client_ip[:MAX_IP],
            user_agent[:MAX_USER_AGENT],
            utcnow(),
            instance_id,
            az,
        )


def db_errors(target: DbTarget) -> tuple[type[BaseException], ...]:
    """The exceptions that mean "the database did not answer" for this engine."""
    if target.engine == "postgres":
        import psycopg

        return (psycopg.Error, OSError)
    import pymysql

    return (pymysql.Error, OSError)


class Pool:
    """Idle connections shared by request threads.

    ``run(work)`` calls ``work(conn)``. Any error closes that connection and every idle one
    (after an outage they are all dead). When the failed connection was a reused one (most
    likely closed by a database restart while idle) the work is retried once on a new
    connection, so the first request after a short outage does not fail for nothing.
    """

    def __init__(
        self,
        target: DbTarget,
        errors: tuple[type[BaseException], ...],
        max_idle: int = MAX_IDLE_CONNECTIONS,
        reload_target: Callable[[], DbTarget] | None = None,
    ) -> None:
        self.target = target
        self.errors = errors
        self.max_idle = max_idle
        self.reload_target = reload_target
        self._reloaded_at = -RELOAD_INTERVAL_S
        self._idle: list[Any] = []
        self._lock = threading.Lock()

    def _connect(self) -> Any:
        """A new connection; when that fails and the credentials come from a secret, re-read
        the secret (at most every RELOAD_INTERVAL_S) and try once more if they changed."""
        try:
            return connect(self.target)
        except self.errors:
            fresh = self._reload()
            if fresh is None:
                raise
        self.target = fresh
        LOG.warning("database credentials changed in the secret: reconnecting with them")
        return connect(fresh)

    def _reload(self) -> DbTarget | None:
        now = time.monotonic()
        if self.reload_target is None or now - self._reloaded_at < RELOAD_INTERVAL_S:
            return None
        self._reloaded_at = now
        try:
            fresh = self.reload_target()
        except Exception as exc:  # no network to Secrets Manager: keep the old credentials
            LOG.warning("could not re-read the database secret: %s", type(exc).__name__)
            return None
        return fresh if fresh != self.target else None

    def run(self, work: Callable[[Any], T]) -> T:
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        reused = conn is not None
        for attempt in (1, 2):
            if conn is None:
                conn = self._connect()
            try:
                result = work(conn)
            except self.errors:
                _close(conn)
                self.clear()
                if not reused or attempt == 2:
                    raise
                conn = None
                continue
            except BaseException:
                _close(conn)
                raise
            self._give_back(conn)
            return result
        raise AssertionError("unreachable")

    def _give_back(self, conn: Any) -> None:
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append(conn)
                return
        _close(conn)

    def clear(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            _close(conn)


def _close(conn: Any) -> None:
    with contextlib.suppress(Exception):
        conn.close()


class HitStore:
    def __init__(
        self,
        target: DbTarget,
        *,
        resilient: bool = False,
        buffer_max: int = 10_000,
        retry_seconds: float = 1.0,
        reload_target: Callable[[], DbTarget] | None = None,
    ) -> None:
        self.target = target
        self.resilient = resilient
        self.retry_seconds = retry_seconds
        self.errors = db_errors(target)
        self.pool = Pool(target, self.errors, reload_target=reload_target)
        self.insert_sql = INSERT_HIT[target.engine]
        self.dropped = 0
        self._buffer: deque[Hit] = deque()
        self._buffer_max = buffer_max
        self._in_flight = 0
        self._degraded = False
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None

    # ---- reads -------------------------------------------------------------------------
    @property
    def degraded(self) -> bool:
        return self._degraded

    @property
    def buffered(self) -> int:
        """Hits not yet in the database: queued, or being flushed right now."""
        return len(self._buffer) + self._in_flight

    def ping(self) -> bool:
        """True when the database answers ``SELECT 1``."""
        try:
            self.pool.run(_select_one)
            return True
        except self.errors as exc:
            LOG.warning("database ping failed (%s): %s", self.target.redacted(), exc)
            return False

    def recent_count(self) -> int | None:
        """Hits of the last five minutes, or None when degraded or the database is away."""
        if self._degraded:
            return None
        try:
            return self.pool.run(_count_recent)
        except self.errors as exc:
            LOG.warning("database count failed (%s): %s", self.target.redacted(), exc)
            return None

    # ---- writes ------------------------------------------------------------------------
    def record(self, hit: Hit) -> int | None:
        """Write the hit; return the recent hit count.

        Fragile: database errors propagate. Resilient: the hit is buffered and None returned.
        """
        if self.resilient and self._enqueue_if_degraded(hit):
            return None

        def insert_and_count(conn: Any) -> int:
            with conn.cursor() as cur:
                cur.execute(self.insert_sql, astuple(hit))
            return _count_recent(conn)

        try:
            return self.pool.run(insert_and_count)
        except self.errors as exc:
            LOG.warning("database write failed (%s): %s", self.target.redacted(), exc)
            if not self.resilient:
                raise
            self._enter_degraded(hit)
            return None

    def _enqueue_if_degraded(self, hit: Hit) -> bool:
        with self._lock:
            if not self._degraded:
                return False
            self._append(hit)
            return True

    def _append(self, hit: Hit) -> None:
        if len(self._buffer) >= self._buffer_max:
            self._buffer.popleft()
            self.dropped += 1
        self._buffer.append(hit)

    def _enter_degraded(self, hit: Hit) -> None:
        with self._lock:
            self._append(hit)
            if not self._degraded:
                LOG.warning("degraded: buffering hits until the database answers again")
            self._degraded = True
        self._start_flusher()
        self._wake.set()

    # ---- recovery ----------------------------------------------------------------------
    def _start_flusher(self) -> None:
        with self._lock:
            if self._flusher is not None and self._flusher.is_alive():
                return
            self._flusher = threading.Thread(
                target=self._flush_loop, name="webapp-flusher", daemon=True
            )
            self._flusher.start()

    def _flush_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.retry_seconds if self._degraded else None)
            self._wake.clear()
            if self._stop.is_set():
                return
            if self._degraded and self.flush():
                LOG.warning("recovered: database answers again, buffered hits written")

    def flush(self) -> bool:
        """Leave degraded mode once ``SELECT 1`` answers, then write every buffered hit.

        Returns True when the database answered and the buffer was emptied.
        """
        try:
            self.pool.run(self._flush_on)
            return True
        except self.errors as exc:
            LOG.info("database still away (%s): %s", self.target.redacted(), exc)
            return False

    def _flush_on(self, conn: Any) -> None:
        _select_one(conn)
        # The database answers: new hits go straight to it again while the backlog drains
        # (otherwise a busy site could buffer faster than this thread flushes).
        self._degraded = False
        while True:
            with self._lock:
                if not self._buffer:
                    return
                size = min(FLUSH_BATCH, len(self._buffer))
                batch = [self._buffer.popleft() for _ in range(size)]
                self._in_flight = size
            try:
                rows = [astuple(h) for h in batch]
                run_in_transaction(conn, self.target.engine, self.insert_sql, rows)
            except BaseException:
                with self._lock:
                    self._buffer.extendleft(reversed(batch))
                raise
            finally:
                self._in_flight = 0

    def close(self) -> None:
        """Stop the flusher (one last flush attempt if hits are waiting) and disconnect."""
        self._stop.set()
        self._wake.set()
        if self._flusher is not None:
            self._flusher.join(timeout=5)
        if self._buffer:
            self.flush()
        self.pool.clear()


def _select_one(conn: Any) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
        cur.fetchall()


def _count_recent(conn: Any) -> int:
    with conn.cursor() as cur:
        cur.execute(COUNT_RECENT, (utcnow() - RECENT_WINDOW,))
        row = cur.fetchone()
    return int(row[0]) if row else 0
