"""Step timer: ``with timer.step("name"):`` records wall-clock seconds per step, in order."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from reslab.checks.model import Timing


class StepTimer:
    def __init__(self) -> None:
        self.timings: list[Timing] = []

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings.append(Timing(name, round(time.perf_counter() - start, 6)))

    def as_dict(self) -> dict[str, float]:
        return {t.step: t.seconds for t in self.timings}
