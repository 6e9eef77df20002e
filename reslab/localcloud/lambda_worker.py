"""One Lambda execution environment: a child process running ``lambda_runtime.py``.

The environment has its own directory (``tmp/`` is the function's ``TMPDIR``; ``log`` collects
what it prints), imports the handler once (:meth:`Worker.start`, the init phase) and then runs
invocations one at a time (:meth:`Worker.invoke`). While it runs, its memory (resident set of
the process and its children) is watched against the function's ``MemorySize``, and the
deadline against ``Timeout``; exceeding either kills its process group, as AWS kills the
execution environment. Errors are AWS's (``Sandbox.Timedout``, ``Runtime.ExitError``).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reslab.localcloud import lambda_clock, lambda_forks

#: Run by path (not ``-m``) so that starting the runner imports no ``reslab``.
RUNNER = str(Path(__file__).with_name("lambda_runtime.py"))
#: AWS gives the init phase 10 s; one that takes longer is retried within the invocation's
#: own timeout, so the whole budget is this plus ``Timeout``.
INIT_SECONDS = 10.0
#: How often a busy environment's memory is checked (its peak is also checked after each call).
MEMORY_POLL_SECONDS = 0.05
#: Go's names of the signals a runtime dies of ("Runtime exited with error: signal: killed").
SIGNAL_NAMES: Mapping[int, str] = {
    signal.SIGKILL: "killed",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGABRT: "aborted",
    signal.SIGTERM: "terminated",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "floating point exception",
    signal.SIGILL: "illegal instruction",
    signal.SIGINT: "interrupt",
}
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class FunctionConfig:
    """What an execution environment runs. Environments are shared only between equal
    ``identity`` values: a digest of the function version, its code and every setting that
    AWS applies by starting new environments (configuration, execution role)."""

    identity: str
    #: Function ARN and version: a newer ``identity`` under it retires the older environments.
    version_key: str
    version: str
    code_dir: Path
    handler: str
    env: Mapping[str, str]
    timeout: float
    memory_mb: int


class WorkerLost(Exception):
    """The environment's process ended or was killed; ``error`` is the AWS error for it."""

    def __init__(self, error_type: str, detail: str) -> None:
        super().__init__(detail)
        self.error_type = error_type
        self.detail = detail


def exit_detail(returncode: int | None) -> str:
    """The runtime's end in AWS's words: ``signal: killed``, ``exit status 3``."""
    if returncode is None:
        return "signal: killed"
    if returncode < 0:
        return f"signal: {SIGNAL_NAMES.get(-returncode, str(-returncode))}"
    return f"exit status {returncode}"


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and its descendants (what AWS's cgroup limit counts)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/statm", "rb") as statm:
                total += int(statm.read().split()[1]) * _PAGE
            with open(f"/proc/{current}/task/{current}/children", "rb") as children:
                pending.extend(int(child) for child in children.read().split())
        except (OSError, ValueError, IndexError):
            continue  # exited meanwhile
    return total


@dataclass(eq=False)
class Worker:
    """One execution environment (see the module docstring)."""

    config: FunctionConfig
    root: Path
    directory: Path = field(init=False)
    log_stream: str = field(init=False)
    proc: subprocess.Popen[bytes] | lambda_forks.ForkedProcess | None = field(
        default=None, init=False
    )
    init_ms: float | None = field(default=None, init=False)
    last_used: float = field(default_factory=time.monotonic, init=False)
    invocations: int = field(default=0, init=False)
    _buffer: bytearray = field(default_factory=bytearray, init=False)
    _peak_rss: int = field(default=0, init=False)
    _group_killed: bool = field(default=False, init=False)
    clock_id: str = field(default="", init=False)
    _app_id: str = field(default="", init=False)
    _credit_base: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="env-", dir=self.root))
        (self.directory / "tmp").mkdir()
        today = datetime.datetime.now(datetime.UTC)
        self.log_stream = f"{today:%Y/%m/%d}/[{self.config.version}]{uuid.uuid4().hex}"
        self.clock_id, self._app_id = lambda_clock.new_environment()

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc else 0

    @property
    def log_path(self) -> Path:
        return self.directory / "log"

    @property
    def tmp_dir(self) -> Path:
        return self.directory / "tmp"

    def environment(self) -> dict[str, str]:
        return {
            lambda_clock.APP_ID_VARIABLE: self._app_id,  # the function's own setting wins
            **self.config.env,
            "TMPDIR": str(self.tmp_dir),
            "_HANDLER": self.config.handler,
            "LAMBDA_TASK_ROOT": str(self.config.code_dir),
            "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        }

    # -- init -------------------------------------------------------------------------------
    def start(self) -> dict[str, Any] | None:
        """Start the process and import the handler; the init error payload if that failed.

        Raises :class:`WorkerLost` if the process died or overran its init budget."""
        started = time.monotonic()
        self._credit_base = lambda_clock.credited(self.clock_id)
        with open(self.log_path, "ab") as log:
            self.proc = lambda_forks.start_runtime(
                RUNNER,
                self.config.code_dir,
                self.config.handler,
                self.environment(),
                log,
                self.directory / "exit-status",
            )
        message = self._receive(started + INIT_SECONDS + self.config.timeout)
        self.init_ms = (time.monotonic() - started) * 1000
        if "init_error" in message:
            self._reap()
            return dict(message["init_error"])
        return None

    # -- invoke -----------------------------------------------------------------------------
    def invoke(self, request_id: str, event: Any) -> tuple[str, bool]:
        """Run one invocation: (payload, errored). The timeout clock starts here, when the
        handler starts. Raises :class:`WorkerLost` (timeout, crash, memory)."""
        assert self.proc is not None and self.proc.stdin is not None
        request = {"id": request_id, "event": event, "timeout": self.config.timeout}
        deadline = time.monotonic() + self.config.timeout
        self._credit_base = lambda_clock.credited(self.clock_id)
        try:
            self.proc.stdin.write(json.dumps(request).encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            raise self._lost() from None
        message = self._receive(deadline)
        self.invocations += 1
        self._peak_rss = max(self._peak_rss, int(message.get("max_rss_kb", 0)) * 1024)
        if self._peak_rss > self._memory_cap:  # a spike between two polls still counts
            raise self._kill_lost("Runtime.ExitError")
        return str(message["body"]), not message["ok"]

    @property
    def _memory_cap(self) -> int:
        return self.config.memory_mb * 1024 * 1024

    @property
    def max_memory_mb(self) -> int:
        return -(-self._peak_rss // (1024 * 1024))

    def _receive(self, deadline: float) -> dict[str, Any]:
        """The next line the runtime writes, watching the deadline (plus what the local cloud
        made the environment's calls wait: ``lambda_clock``) and the memory cap."""
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        poller = select.poll()  # not select(): the server may hold more than 1024 descriptors
        poller.register(fd, select.POLLIN)
        while b"\n" not in self._buffer:
            credit = lambda_clock.credited(self.clock_id) - self._credit_base
            remaining = deadline + credit - time.monotonic()
            if remaining <= 0:
                raise self._kill_lost("Sandbox.Timedout")
            try:
                ready = poller.poll(min(remaining, MEMORY_POLL_SECONDS) * 1000)
                chunk = os.read(fd, 1 << 16) if ready else None
            except (OSError, ValueError):  # closed by kill() from another thread (shutdown)
                chunk = b""
            if chunk == b"":
                raise self._lost()
            if chunk is not None:
                self._buffer += chunk
                continue
            rss = tree_rss_bytes(self.proc.pid)
            self._peak_rss = max(self._peak_rss, rss)
            if rss > self._memory_cap:
                raise self._kill_lost("Runtime.ExitError")
        end = self._buffer.index(b"\n")
        message: dict[str, Any] = json.loads(self._buffer[:end])
        del self._buffer[: end + 1]
        return message

    def _lost(self) -> WorkerLost:
        """The process ended by itself: how, in AWS's words."""
        return WorkerLost("Runtime.ExitError", exit_detail(self._reap()))

    def _kill_lost(self, error_type: str) -> WorkerLost:
        self.kill()
        return WorkerLost(error_type, exit_detail(self.proc.returncode if self.proc else None))

    # -- logs and end -----------------------------------------------------------------------
    def take_logs(self) -> str:
        """What the environment printed since the last call (the file is emptied: the
        runtime appends, and prints nothing between invocations)."""
        try:
            with open(self.log_path, "r+b") as log:
                data = log.read()
                log.truncate(0)
        except FileNotFoundError:
            return ""
        return data.decode("utf-8", "replace")

    def kill(self) -> None:
        """Kill the process group at once (the runtime and anything it started)."""
        if self.proc is None or self._group_killed:
            return
        self._group_killed = True  # once: after that the group id may belong to another
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._reap()

    def _reap(self) -> int | None:
        assert self.proc is not None
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        try:
            return self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait()

    def retire(self) -> None:
        """End the environment and remove its directory (its /tmp and log)."""
        self.kill()
        lambda_clock.forget(self.clock_id)
        shutil.rmtree(self.directory, ignore_errors=True)
