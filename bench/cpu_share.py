"""Where a benchmark's CPU goes: this process and each kind of child process.

A sampler thread reads ``/proc`` every ``interval`` seconds: the CPU time of this process and of
every descendant (Lambda environments, embedded PostgreSQL, web apps), classified by command
line. A process that ends between two samples loses what it used since the last one, so keep the
interval short next to the processes' lives (Lambda environments and servers live long).
"""

from __future__ import annotations

import os
import resource
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")
#: Kind of process -> how to recognise its command line (first match wins).
KINDS: Mapping[str, Callable[[str], bool]] = {
    "lambda": lambda cmd: "lambda_runtime.py" in cmd,
    "postgres": lambda cmd: "postgres" in cmd,
    "web": lambda cmd: "webapp" in cmd or "gunicorn" in cmd or "uvicorn" in cmd,
}


def cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (been reaped)."""
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _descendants(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                pending.extend(int(child) for child in task.read_text().split())
            except (OSError, ValueError):
                continue
    return found


def _cpu_seconds(pid: int) -> tuple[float, int]:
    """(CPU seconds, start time): the two identify a process even if its pid is reused."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK, int(fields[19])  # utime+stime, start


def _kind(pid: int, kinds: Mapping[str, Callable[[str], bool]]) -> str:
    if pid == os.getpid():
        return "this process"
    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    return next((kind for kind, match in kinds.items() if match(cmd)), "other")


class CpuShare:
    """``with CpuShare() as share: ...`` then ``share.by_kind()``: cpu-s per kind of process."""

    def __init__(
        self, interval: float = 0.5, kinds: Mapping[str, Callable[[str], bool]] = KINDS
    ) -> None:
        self.interval = interval
        self.kinds = kinds
        self._seen: dict[tuple[int, int], tuple[str, float, float]] = {}  # kind, first, last
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-share", daemon=True)

    def __enter__(self) -> CpuShare:
        self._sample(initial=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self, initial: bool = False) -> None:
        for pid in _descendants(os.getpid()):
            try:
                cpu, started = _cpu_seconds(pid)
                # a process started after the first sample: all its CPU counts
                kind, first, _ = self._seen.get((pid, started)) or (
                    _kind(pid, self.kinds),
                    cpu if initial else 0.0,
                    0,
                )
            except (OSError, IndexError, ValueError):
                continue  # ended meanwhile
            self._seen[pid, started] = (kind, first, cpu)

    def by_kind(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for kind, first, last in self._seen.values():
            totals[kind] = totals.get(kind, 0.0) + last - first
        return totals
