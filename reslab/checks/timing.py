"""Step timer: ``with timer.step("name"):`` records each step's wall-clock start and length.

Steps may run in parallel threads: each records when it began (seconds after the timer was
made) so that a reader can tell overlapping steps from consecutive ones.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from reslab.checks.model import Timing


class StepTimer:
    def __init__(self) -> None:
        self._origin = time.perf_counter()
        self._lock = threading.Lock()
        self._timings: list[Timing] = []

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            end = time.perf_counter()
            timing = Timing(name, round(end - start, 6), round(start - self._origin, 6))
            with self._lock:
                self._timings.append(timing)

    @property
    def timings(self) -> list[Timing]:
        """Every finished step, in the order the steps began."""
        with self._lock:
            return sorted(self._timings, key=lambda t: t.start or 0.0)

    def as_dict(self) -> dict[str, float]:
        return {t.step: t.seconds for t in self.timings}
