"""Where hits go: straight to the database (fragile), or via a bounded buffer (resilient).

Every hit goes through the process's ``HitWriter`` (group commit: concurrent hits share one
INSERT; a row the database refuses is stored sanitised or dropped and counted, never taken
for an outage).

Fragile mode (the classic lab): a hit the database could not take is the caller's problem
(``DatabaseUnavailable``: the page answers 500).

Resilient mode: when the database cannot take writes the store turns *degraded*; hits are
then appended to a bounded in-memory queue and requests stop touching the database. A
background thread retries every ``retry_seconds``; once ``SELECT 1`` answers it leaves
degraded mode (new hits go straight to the database again) and flushes the queue through
the writer, putting back whatever the database did not take, so no hit taken while degraded
is lost after the reconnect (unless the queue overflowed: ``dropped`` counts those, oldest
first). Every hit carries a unique ``hit_id`` and a retried write leaves out the ones already
stored, so hits are written exactly once.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import NamedTuple

from webapp.db import DbTarget
from webapp.dberrors import db_errors
from webapp.hit import Hit, utcnow
from webapp.pool import Pool
from webapp.writer import BadRows, HitWriter, Job

LOG = logging.getLogger("webapp")
FLUSH_BATCH = 500


class Recorded(NamedTuple):
    buffered: bool
    """Resilient mode, degraded: the hit waits in the buffer."""
    recent_hits: int | None
    """Hits of the last five minutes (``webapp.recent``), None when unknown."""


BUFFERED = Recorded(True, None)


class DatabaseUnavailable(Exception):
    """Fragile mode: the database could not take the hit (the cause is chained)."""


class HitStore:
    def __init__(
        self,
        target: DbTarget,
        *,
        instance_id: str = "unknown",
        resilient: bool = False,
        buffer_max: int = 10_000,
        retry_seconds: float = 1.0,
        reload_target: Callable[[], DbTarget] | None = None,
    ) -> None:
        self.target = target
        self.resilient = resilient
        self.retry_seconds = retry_seconds
        self.errors = db_errors(target.engine)
        self.pool = Pool(target, self.errors, reload_target=reload_target)
        self.writer = HitWriter(self.pool, target.engine, instance_id)
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

    @property
    def bad_rows(self) -> BadRows:
        """Hits the database refused as they were: stored sanitised, or dropped."""
        return self.writer.bad_rows

    def ping(self, *, quiet: bool = False) -> bool:
        """True when the database answers ``SELECT 1``."""
        try:
            self.pool.run(_select_one)
            return True
        except self.errors.any as exc:
            if not quiet:
                LOG.warning("database ping failed (%s): %s", self.target.redacted(), exc)
            return False

    def recent_count(self) -> int | None:
        """Hits of the last five minutes (``webapp.recent``), or None when degraded or the
        database is away."""
        return None if self._degraded else self.writer.recent_count()

    # ---- writes ------------------------------------------------------------------------
    def record(self, hit: Hit) -> Recorded:
        """Write the hit; return the recent hit count.

        Fragile: raises ``DatabaseUnavailable``. Resilient: the hit is buffered instead.
        """
        if self.resilient and self._enqueue_if_degraded(hit):
            return BUFFERED
        try:
            self.writer.write(hit)
        except self.errors.any as exc:
            LOG.warning("database write failed (%s): %s", self.target.redacted(), exc)
            if not self.resilient:
                raise DatabaseUnavailable(str(exc)) from exc
            self._enter_degraded(hit)
            return BUFFERED
        return Recorded(False, self.writer.recent.value(utcnow()))

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

        Returns True when the database answered and the buffer was emptied; on a failure the
        hits not written go back to the front of the buffer and the store stays degraded.
        """
        if not self.ping(quiet=True):
            LOG.info("database still away (%s)", self.target.redacted())
            return False
        # The database answers: new hits go straight to it again while the backlog drains
        # (otherwise a busy site could buffer faster than this thread flushes).
        self._degraded = False
        while True:
            with self._lock:
                if not self._buffer:
                    return True
                size = min(FLUSH_BATCH, len(self._buffer))
                batch = [self._buffer.popleft() for _ in range(size)]
                self._in_flight = size
            jobs = [Job(hit) for hit in batch]
            self.writer.run(jobs)
            # A database error, or a bug: keep the hit either way.
            failed = [job.hit for job in jobs if job.error is not None]
            with self._lock:
                self._buffer.extendleft(reversed(failed))  # type: ignore[arg-type]
                self._in_flight = 0
                if failed:
                    self._degraded = True
                    return False

    def close(self) -> None:
        """Stop the flusher (one last flush attempt if hits are waiting) and disconnect."""
        self._stop.set()
        self._wake.set()
        if self._flusher is not None:
            self._flusher.join(timeout=5)
        if self._buffer:
            self.flush()
        self.writer.close()
        self.pool.clear()


def _select_one(conn: object) -> None:
    with conn.cursor() as cur:  # type: ignore[attr-defined]
        cur.execute("SELECT 1")
        cur.fetchall()
