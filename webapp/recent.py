"""The page's "hits in the last five minutes", without a query per page view.

Each process keeps the hits it has written since it last *refreshed*, by second. A refresh
(by the writer, between two batches, at most once every ``MAX_AGE_S`` while pages are served,
and within ``MAX_AGE_S`` of a hit when the process goes idle) adds them to ``hit_counts`` and
reads the total of the last five minutes back. A page shows that total plus this process's
hits written since, so it counts every hit of its own process (the visitor's among them) and
every hit of the other processes and instances written more than ``STALENESS_S`` before it;
it may still count, for up to ``MAX_AGE_S``, hits that have just left the window.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import datetime

from webapp.writes import RECENT_WINDOW, second_of

MAX_AGE_S = 1.0
# Another process publishes a hit at most MAX_AGE_S (+ its idle check) after writing it, and
# this one reads the total at most MAX_AGE_S before showing it.
IDLE_CHECK_S = 0.25
STALENESS_S = 2 * MAX_AGE_S + IDLE_CHECK_S


class RecentCount:
    def __init__(self, max_age_s: float = MAX_AGE_S) -> None:
        self.max_age_s = max_age_s
        self._total: int | None = None
        self._read_at = float("-inf")
        self._tried_at = float("-inf")
        self._since: Counter[datetime] = Counter()
        self._lock = threading.Lock()

    def stale(self) -> bool:
        """The total is unknown, or older than ``max_age_s``."""
        return self._total is None or time.monotonic() - self._read_at >= self.max_age_s

    def unpublished(self) -> Counter[datetime]:
        """This process's hits not in ``hit_counts`` yet, by second."""
        with self._lock:
            return Counter(self._since)

    def due(self) -> bool:
        """Hits are waiting to be published and no refresh was tried for ``max_age_s``."""
        return bool(self._since) and time.monotonic() - self._tried_at >= self.max_age_s

    def add(self, per_second: Counter[datetime]) -> None:
        """Hits this process has just written, by second."""
        with self._lock:
            self._since.update(per_second)

    def refreshed(self, total: int | None, published: Counter[datetime]) -> None:
        """A refresh added ``published`` to ``hit_counts`` and then read ``total`` (None: it
        could not be read)."""
        now = time.monotonic()
        with self._lock:
            self._since.subtract(published)
            self._since = +self._since  # drop the seconds now at zero
            self._total = total
            self._tried_at = now
            if total is not None:
                self._read_at = now

    def forget(self) -> None:
        """What the database holds is unknown now (a write failed)."""
        with self._lock:
            self._total = None

    def value(self, now: datetime) -> int | None:
        with self._lock:
            if self._total is None:
                return None
            cutoff = second_of(now - RECENT_WINDOW)
            return self._total + sum(n for s, n in self._since.items() if s >= cutoff)
