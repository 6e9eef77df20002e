"""The page's "hits in the last five minutes", without a query per page view.

The total is read from ``hit_counts`` at most once a second (by the writer thread, between
two batches) and this process's own hits written since are added to it. So the figure a
page shows includes every hit this process has written, the visitor's own among them, and
misses at most the last second of the other processes' and instances' hits (and may still
count hits that left the window within that second): its documented staleness is
``MAX_AGE_S``.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import datetime

from webapp.writes import RECENT_WINDOW, second_of

MAX_AGE_S = 1.0


class RecentCount:
    def __init__(self, max_age_s: float = MAX_AGE_S) -> None:
        self.max_age_s = max_age_s
        self._total: int | None = None
        self._read_at = float("-inf")
        self._since: Counter[datetime] = Counter()
        self._lock = threading.Lock()

    def stale(self) -> bool:
        return time.monotonic() - self._read_at >= self.max_age_s

    def set_total(self, total: int | None) -> None:
        """The database's total, read after every hit counted in ``added`` so far was
        committed (None: it could not be read)."""
        with self._lock:
            self._total = total
            self._read_at = time.monotonic() if total is not None else float("-inf")
            self._since.clear()

    def add(self, per_second: Counter[datetime]) -> None:
        """Hits this process has just committed, by second."""
        with self._lock:
            self._since.update(per_second)

    def value(self, now: datetime) -> int | None:
        with self._lock:
            if self._total is None:
                return None
            cutoff = second_of(now - RECENT_WINDOW)
            return self._total + sum(n for s, n in self._since.items() if s >= cutoff)
