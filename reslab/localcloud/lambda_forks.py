"""Start a Lambda execution environment's process: forked from the zygote when that is the same
as a fresh interpreter (:mod:`lambda_zygote`), else ``python lambda_runtime.py`` as before.

A cold start cost ~0.8 s of CPU, most of it importing boto3 (13 cold starts in one
``reslab deploy --local``); forked, it costs what the function's own import costs. What the
function sees is unchanged: its own session and process group, the descriptors, working
directory and environment it gets from :class:`lambda_worker.Worker`, ``sys.path`` and
``sitecustomize`` from that environment, and its exit status as ``subprocess`` reports it.
``RESLAB_LAMBDA_FORK=off`` always starts a fresh interpreter.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from reslab.localcloud.state import process_exists

ZYGOTE = str(Path(__file__).with_name("lambda_zygote.py"))
SETTING = "RESLAB_LAMBDA_FORK"
#: Top-level names the zygote has imported (boto3 and what it imports): a deployment package
#: with its own copy of one gets a fresh interpreter, which imports that copy.
PRELOADED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
#: Interpreter settings a running interpreter cannot take on (``PYTHONPATH`` it can).
_START_ONLY = ("PYTHONPATH",)
REPLY_SECONDS = 10.0


class ForkedProcess:
    """The part of :class:`subprocess.Popen` a worker uses, for a child of the zygote: the
    zygote reaps it and writes its exit status to ``status_path``."""

    def __init__(self, pid: int, stdin: IO[bytes], stdout: IO[bytes], status_path: Path) -> None:
        self.pid, self.stdin, self.stdout = pid, stdin, stdout
        self.args = [ZYGOTE, str(pid)]
        self.returncode: int | None = None
        self._status_path = status_path

    def poll(self) -> int | None:
        if self.returncode is None:
            with contextlib.suppress(FileNotFoundError, ValueError):
                self.returncode = int(self._status_path.read_text())
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        gone_since: float | None = None
        while self.poll() is None:
            if not process_exists(self.pid):
                # reaped, and the status is being written; or the zygote died first
                gone_since = gone_since or time.monotonic()
                if time.monotonic() - gone_since > 2.0:
                    self.returncode = -9
                    break
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
            time.sleep(0.005)
        assert self.returncode is not None
        return self.returncode


class Zygote:
    """The zygote process and its control socket; requests are serialised."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._control = ours
        self._env = dict(os.environ)
        self._process = subprocess.Popen(
            [sys.executable, ZYGOTE, str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        theirs.close()
        self._lock = threading.Lock()

    def same_as_fresh(self, code_dir: Path, env: dict[str, str]) -> bool:
        """Whether a fork gives what a fresh interpreter would."""
        settings = {n for n in (*env, *self._env) if n.startswith("PYTHON")} - set(_START_ONLY)
        if any(env.get(name) != self._env.get(name) for name in settings):
            return False
        try:
            carried = {entry.split(".")[0] for entry in os.listdir(code_dir)}
        except OSError:
            return False
        return not carried.intersection(PRELOADED)

    def spawn(
        self, code_dir: Path, handler: str, env: dict[str, str], log: IO[bytes], status: Path
    ) -> ForkedProcess:
        child_stdin, parent_stdin = os.pipe()
        parent_stdout, child_stdout = os.pipe()
        request = {
            "code_dir": str(code_dir),
            "handler": handler,
            "cwd": str(code_dir),
            "env": env,
            "status": str(status),
        }
        try:
            with self._lock:
                socket.send_fds(
                    self._control,
                    [json.dumps(request).encode()],
                    [child_stdin, child_stdout, log.fileno()],
                )
                self._control.settimeout(REPLY_SECONDS)
                reply = self._control.recv(4096)
        except OSError:
            for fd in (parent_stdin, parent_stdout):
                os.close(fd)
            raise
        finally:
            for fd in (child_stdin, child_stdout):
                os.close(fd)
        if not reply:
            for fd in (parent_stdin, parent_stdout):
                os.close(fd)
            raise OSError("the Lambda zygote ended")
        pid = int(json.loads(reply)["pid"])
        return ForkedProcess(
            pid, os.fdopen(parent_stdin, "wb"), os.fdopen(parent_stdout, "rb"), status
        )

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._control.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=5)
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()


_zygote: Zygote | None = None
_zygote_failed = False
_zygote_lock = threading.Lock()


def _the_zygote() -> Zygote | None:
    global _zygote
    if _zygote_failed or os.environ.get(SETTING, "on") == "off" or sys.platform != "linux":
        return None
    with _zygote_lock:
        if _zygote is None:
            _zygote = Zygote()
        return _zygote


def _give_up(zygote: Zygote) -> None:
    """A zygote that failed once is not asked again in this process."""
    global _zygote, _zygote_failed
    with _zygote_lock:
        _zygote_failed = True
        if _zygote is zygote:
            _zygote = None
    zygote.close()


@atexit.register
def shutdown() -> None:
    global _zygote
    with _zygote_lock:
        zygote, _zygote = _zygote, None
    if zygote is not None:
        zygote.close()


def start_runtime(
    runner: str, code_dir: Path, handler: str, env: dict[str, str], log: IO[bytes], status: Path
) -> Any:
    """The environment's process (``Popen`` or :class:`ForkedProcess`), its runtime started."""
    zygote = _the_zygote()
    if zygote is not None and zygote.same_as_fresh(code_dir, env):
        try:
            return zygote.spawn(code_dir, handler, env, log, status)
        except OSError:
            _give_up(zygote)
    return subprocess.Popen(
        [sys.executable, runner, str(code_dir), handler],
        cwd=code_dir,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        start_new_session=True,
    )
