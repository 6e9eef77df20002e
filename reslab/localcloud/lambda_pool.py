"""Warm Lambda execution environments, reused as AWS reuses them.

An invocation first takes one of the account's concurrency slots (:mod:`lambda_gate`: at most N
run at once, the rest queue, beyond the queue bound ``Throttled``), then the most recently used
idle environment of the same function identity (a warm start: module globals, ``/tmp`` and the
environment survive), or starts a new one (a cold start: the first call, after the idle timeout,
after a new code version or configuration, after the previous one died). The timeout clock
starts when the handler starts: never while queued, never during init.

An environment serves one invocation at a time; one that crashes, times out or exceeds its
memory is discarded (:mod:`lambda_worker`). Idle environments end after ``idle_timeout``; past
``max_environments`` alive, the least recently used idle one ends first (a laptop's memory is
not AWS's).

Settings (:class:`PoolSettings`): ``LocalCloud(lambda_concurrency=N)`` or the environment
variables in :data:`ENV_VARS`.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from reslab.errors import LocalCloudError
from reslab.localcloud.lambda_gate import ConcurrencyGate, GateStats
from reslab.localcloud.lambda_worker import FunctionConfig, Worker, WorkerLost

#: Setting -> the environment variable that overrides its default.
ENV_VARS: Mapping[str, str] = {
    "concurrency": "RESLAB_LAMBDA_CONCURRENCY",
    "queue_limit": "RESLAB_LAMBDA_QUEUE_LIMIT",
    "idle_timeout": "RESLAB_LAMBDA_IDLE_SECONDS",
    "max_environments": "RESLAB_LAMBDA_MAX_ENVIRONMENTS",
}


def default_concurrency() -> int:
    """Lambdas here mostly wait for the local cloud's answers: twice the cores keeps them busy."""
    return max(2, 2 * (os.cpu_count() or 1))


@dataclass(frozen=True)
class PoolSettings:
    #: Invocations running at once (the account's concurrency).
    concurrency: int
    #: Synchronous invocations that may wait for a slot; beyond: TooManyRequestsException.
    queue_limit: int = 100
    #: Seconds an environment stays warm without an invocation.
    idle_timeout: float = 120.0
    #: Environments alive at once (idle ones end first, least recently used).
    max_environments: int = 64

    @classmethod
    def from_environment(cls, concurrency: int | None = None) -> PoolSettings:
        """Defaults, then the environment variables, then an explicit ``concurrency``."""
        values: dict[str, Any] = {"concurrency": default_concurrency()}
        for f in fields(cls):
            raw = os.environ.get(ENV_VARS[f.name])
            if raw is None:
                continue
            try:
                values[f.name] = float(raw) if f.name == "idle_timeout" else int(raw)
            except ValueError:
                raise LocalCloudError(f"{ENV_VARS[f.name]}={raw!r}: not a number") from None
        if concurrency is not None:
            values["concurrency"] = concurrency
        return cls(**values).validated()

    def validated(self) -> PoolSettings:
        if self.concurrency < 1:
            raise LocalCloudError(f"Lambda concurrency must be >= 1 (got {self.concurrency})")
        if self.queue_limit < 0 or self.idle_timeout <= 0:
            raise LocalCloudError("Lambda queue limit must be >= 0 and idle timeout > 0")
        if self.max_environments < self.concurrency:
            raise LocalCloudError(
                f"max_environments ({self.max_environments}) must be >= concurrency "
                f"({self.concurrency})"
            )
        return self


@dataclass(frozen=True)
class Invocation:
    """One invocation's outcome, as moto's ``_invoke_lambda`` reports it, plus where it ran."""

    payload: str
    errored: bool
    logs: str
    log_stream: str
    cold: bool
    pid: int


@dataclass
class PoolStats:
    cold_starts: int = 0
    warm_starts: int = 0
    lost: int = 0
    expired: int = 0
    evicted: int = 0


class LambdaPool:
    """Execution environments and the concurrency gate (see the module docstring)."""

    def __init__(self, settings: PoolSettings, root: Path | None = None) -> None:
        self._settings = settings.validated()
        self._root = root or Path(tempfile.mkdtemp(prefix="reslab-lambda-envs-"))
        self._gate = ConcurrencyGate(settings.concurrency, settings.queue_limit)
        self._lock = threading.Lock()
        self._idle: dict[str, list[Worker]] = {}  # identity -> idle, least recently used first
        self._busy: set[Worker] = set()
        self._latest: dict[str, str] = {}  # version key -> the identity invocations get now
        self._closed = False
        self.stats = PoolStats()
        self._wake = threading.Event()
        self._reaper = threading.Thread(target=self._reap_loop, name="lambda-idle", daemon=True)
        self._reaper.start()

    # -- settings --------------------------------------------------------------------------
    @property
    def settings(self) -> PoolSettings:
        return self._settings

    def configure(self, **changes: Any) -> PoolSettings:
        """Change settings from now on; returns the previous ones."""
        previous = self._settings
        self._settings = replace(previous, **changes).validated()
        self._gate.resize(self._settings.concurrency, self._settings.queue_limit)
        self._wake.set()
        return previous

    @property
    def gate_stats(self) -> GateStats:
        return self._gate.stats

    # -- invoke ----------------------------------------------------------------------------
    def invoke(self, config: FunctionConfig, event: Any, throttle: bool) -> Invocation:
        """Run one invocation in a warm or new environment. Raises ``lambda_gate.Throttled``
        when ``throttle`` and the queue is full."""
        with self._gate.slot(throttle):
            worker = self._checkout(config)
            cold = worker.proc is None
            keep = False
            try:
                payload, errored, logs, keep = self._run(worker, cold, event)
            finally:
                self._checkin(worker, keep)
        return Invocation(payload, errored, logs, worker.log_stream, cold, worker.pid)

    def _run(self, worker: Worker, cold: bool, event: Any) -> tuple[str, bool, str, bool]:
        """(payload, errored, logs, keep the environment)."""
        request_id = str(uuid.uuid4())
        init_logs, failure = "", None
        started = time.monotonic()
        try:
            if cold:
                init_error = worker.start()
                init_logs = worker.take_logs()
                if init_error is not None:
                    init_error["requestId"] = request_id
                    return json.dumps(init_error), True, init_logs, False
            started = time.monotonic()
            payload, errored = worker.invoke(request_id, event)
        except WorkerLost as lost:
            with self._lock:
                self.stats.lost += 1
            failure = failure_error(lost, request_id, worker.config.timeout)
            payload, errored = json.dumps(failure), True
        duration_ms = (time.monotonic() - started) * 1000
        lines = [f"START RequestId: {request_id} Version: {worker.config.version}"]
        lines += worker.take_logs().splitlines()
        if failure is not None:
            lines += [failure["errorMessage"], failure["errorType"]]
        lines.append(f"END RequestId: {request_id}")
        lines.append(report_line(worker, request_id, duration_ms, cold))
        return payload, errored, init_logs + "\n".join(lines) + "\n", failure is None

    # -- environments ----------------------------------------------------------------------
    def _checkout(self, config: FunctionConfig) -> Worker:
        ended: list[Worker] = []
        with self._lock:
            ended += self._note_identity(config)
            idle = self._idle.get(config.identity, [])
            worker = None
            while idle and worker is None:
                candidate = idle.pop()  # the most recently used, as AWS tends to
                if self._expired(candidate):
                    ended.append(candidate)
                    self.stats.expired += 1
                else:
                    worker = candidate
            if worker is None:
                ended += self._evict(self._alive() + 1 - self._settings.max_environments)
                worker = Worker(config, self._root)
                self.stats.cold_starts += 1
            else:
                self.stats.warm_starts += 1
            self._busy.add(worker)
        for old in ended:
            old.retire()
        return worker

    def _checkin(self, worker: Worker, keep: bool) -> None:
        with self._lock:
            self._busy.discard(worker)
            current = self._latest.get(worker.config.version_key) == worker.config.identity
            if keep and current and not self._closed:
                worker.last_used = time.monotonic()
                self._idle.setdefault(worker.config.identity, []).append(worker)
                return
        worker.retire()

    def _note_identity(self, config: FunctionConfig) -> list[Worker]:
        """A new code version or configuration: the older environments are not used again."""
        previous = self._latest.get(config.version_key)
        self._latest[config.version_key] = config.identity
        if previous is None or previous == config.identity:
            return []
        return self._idle.pop(previous, [])

    def _alive(self) -> int:
        return len(self._busy) + sum(len(idle) for idle in self._idle.values())

    def _expired(self, worker: Worker) -> bool:
        return time.monotonic() - worker.last_used > self._settings.idle_timeout

    def _evict(self, count: int) -> list[Worker]:
        """Take the ``count`` least recently used idle environments out (caller retires)."""
        evicted: list[Worker] = []
        while len(evicted) < count:
            oldest = min(
                (idle for idle in self._idle.values() if idle),
                key=lambda idle: idle[0].last_used,
                default=None,
            )
            if oldest is None:
                break
            evicted.append(oldest.pop(0))
            self.stats.evicted += 1
        return evicted

    def _reap_loop(self) -> None:
        while not self._closed:
            self._wake.wait(min(max(self._settings.idle_timeout / 2, 0.2), 10.0))
            self._wake.clear()
            with self._lock:
                expired = [w for idle in self._idle.values() for w in idle if self._expired(w)]
                for worker in expired:
                    self._idle[worker.config.identity].remove(worker)
                self.stats.expired += len(expired)
            for worker in expired:
                worker.retire()

    # -- lifecycle -------------------------------------------------------------------------
    def environments(self) -> dict[str, list[int]]:
        """Identity -> PIDs of its live environments (tests, diagnostics)."""
        with self._lock:
            alive: dict[str, list[int]] = {}
            for worker in [*self._busy, *(w for idle in self._idle.values() for w in idle)]:
                alive.setdefault(worker.config.identity, []).append(worker.pid)
            return alive

    def reset(self) -> None:
        """Forget every function (moto reset): idle environments end now, busy ones after."""
        with self._lock:
            self._latest.clear()
            ended = [w for idle in self._idle.values() for w in idle]
            self._idle.clear()
        for worker in ended:
            worker.retire()

    def shutdown(self) -> None:
        """End every environment; waiting invocations fail with ``GateClosed``."""
        with self._lock:
            self._closed = True
            ended = [*self._busy, *(w for idle in self._idle.values() for w in idle)]
            self._idle.clear()
        self._gate.close()
        self._wake.set()
        for worker in ended:
            worker.kill()
        self._reaper.join(timeout=5)
        shutil.rmtree(self._root, ignore_errors=True)


def failure_error(lost: WorkerLost, request_id: str, timeout: float) -> dict[str, str]:
    """The error AWS returns when the environment timed out or died."""
    if lost.error_type == "Sandbox.Timedout":
        detail = f"Task timed out after {timeout:.2f} seconds"
    else:
        detail = f"Runtime exited with error: {lost.detail}"
    message = f"RequestId: {request_id} Error: {detail}"
    return {"errorType": lost.error_type, "errorMessage": message}


def report_line(worker: Worker, request_id: str, duration_ms: float, cold: bool) -> str:
    """AWS's REPORT log line (Init Duration only after a cold start)."""
    parts = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {math.ceil(duration_ms)} ms",
        f"Memory Size: {worker.config.memory_mb} MB",
        f"Max Memory Used: {worker.max_memory_mb} MB",
    ]
    if cold and worker.init_ms is not None:
        parts.append(f"Init Duration: {worker.init_ms:.2f} ms")
    return "\t".join(parts)
