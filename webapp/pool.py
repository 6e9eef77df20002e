"""Database connections kept open and reused by one process (one gunicorn worker)."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from webapp.db import DbTarget, connect
from webapp.dberrors import DbErrors

LOG = logging.getLogger("webapp")
T = TypeVar("T")

MAX_IDLE_CONNECTIONS = 4
RELOAD_INTERVAL_S = 30.0


class Pool:
    """Idle connections shared by the threads of one process.

    ``run(work)`` calls ``work(conn)``. A row error (``DbErrors.row``) is the work's
    problem: the connection is fine and goes back to the pool. Any other database error
    closes that connection and every idle one (after an outage they are all dead); when the
    failed connection was a reused one (most likely closed by a database restart while
    idle) the work is retried once on a new connection, so the first request after a short
    outage does not fail for nothing. ``work`` must therefore be safe to run twice.
    """

    def __init__(
        self,
        target: DbTarget,
        errors: DbErrors,
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
        except self.errors.any:
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
            except self.errors.row:
                self._give_back(conn)
                raise
            except self.errors.any:
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
