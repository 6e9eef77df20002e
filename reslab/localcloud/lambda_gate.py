"""The account's Lambda concurrency: at most N invocations run at once, the rest wait in order.

AWS answers an invocation beyond the account's concurrency with ``TooManyRequestsException``;
on a laptop a short wait is kinder than a retry, so invocations queue (first come, first
served) and only those beyond ``queue_limit`` waiting are refused (:class:`Throttled`). Callers
that AWS would never throttle synchronously (asynchronous and service-internal invocations) wait
whatever the queue's length.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


class Throttled(Exception):
    """The account's concurrency is used up and the queue is full (HTTP 429 on AWS)."""


class GateClosed(Exception):
    """The local cloud stopped while the invocation waited."""


@dataclass
class _Waiter:
    event: threading.Event = field(default_factory=threading.Event)
    admitted: bool = False


@dataclass
class GateStats:
    admitted: int = 0
    queued: int = 0
    throttled: int = 0
    longest_queue: int = 0


class ConcurrencyGate:
    """A FIFO counting semaphore with a bounded queue (see the module docstring)."""

    def __init__(self, limit: int, queue_limit: int) -> None:
        self._lock = threading.Lock()
        self._limit = limit
        self._queue_limit = queue_limit
        self._running = 0
        self._waiters: deque[_Waiter] = deque()
        self._closed = False
        self.stats = GateStats()

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def resize(self, limit: int, queue_limit: int) -> None:
        with self._lock:
            self._limit, self._queue_limit = limit, queue_limit
            self._admit_waiters()

    @contextmanager
    def slot(self, throttle: bool) -> Iterator[None]:
        """Hold one of the N slots for the block; wait for it in order, or raise Throttled."""
        self._acquire(throttle)
        try:
            yield
        finally:
            self._release()

    def _acquire(self, throttle: bool) -> None:
        with self._lock:
            if self._closed:
                raise GateClosed
            if self._running < self._limit and not self._waiters:
                self._running += 1
                self.stats.admitted += 1
                return
            if throttle and len(self._waiters) >= self._queue_limit:
                self.stats.throttled += 1
                raise Throttled
            waiter = _Waiter()
            self._waiters.append(waiter)
            self.stats.queued += 1
            self.stats.longest_queue = max(self.stats.longest_queue, len(self._waiters))
        waiter.event.wait()
        if not waiter.admitted:
            raise GateClosed

    def _release(self) -> None:
        with self._lock:
            self._running -= 1
            self._admit_waiters()

    def _admit_waiters(self) -> None:
        while self._waiters and self._running < self._limit:
            waiter = self._waiters.popleft()
            waiter.admitted = True
            self._running += 1
            self.stats.admitted += 1
            waiter.event.set()

    def close(self) -> None:
        """Refuse new invocations and wake every waiter with GateClosed."""
        with self._lock:
            self._closed = True
            waiters, self._waiters = list(self._waiters), deque()
        for waiter in waiters:
            waiter.event.set()
