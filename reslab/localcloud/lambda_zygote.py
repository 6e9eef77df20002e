"""Start Lambda execution environments by forking one process that has boto3 imported already.

``python lambda_zygote.py`` (run by path: it imports no ``reslab``, like ``lambda_runtime.py``)
imports what every function of the lab imports before its own code runs (boto3 and botocore,
~0.6 s of CPU per start), then waits on the Unix socket whose descriptor is its argument. Each
request is one datagram: JSON ``{"code_dir", "handler", "cwd", "env", "status"}`` with three
descriptors (the environment's stdin, stdout and log). The zygote forks; the child becomes what
``python lambda_runtime.py CODE_DIR HANDLER`` would be in that environment (own session, the
descriptors as 0/1/2, the working directory, exactly ``env``, ``sys.path`` as the interpreter
would build it from ``env``'s ``PYTHONPATH``, and its ``sitecustomize`` imported) and runs the
runtime. The zygote answers ``{"pid": n}``, reaps its children and writes each one's exit
status, as ``subprocess`` reports it, to the request's ``status`` path.

The parent (:mod:`lambda_forks`) falls back to a fresh interpreter wherever the fork could
differ from one: a deployment package that carries its own copy of a module imported here, or
interpreter settings in ``env`` that only a new interpreter applies.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import os
import signal
import socket
import sys
import traceback
from typing import Any

_RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lambda_runtime.py")

_statuses: dict[int, str] = {}
#: Children reaped before their status path was registered (they ended at once).
_early: dict[int, int] = {}
_base_path = list(sys.path)
_own_pythonpath = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]


def _preload() -> Any:
    for name in ("boto3", "botocore.session", "botocore.client", "botocore.httpsession"):
        importlib.import_module(name)
    spec = importlib.util.spec_from_file_location("lambda_runtime", _RUNNER)
    assert spec is not None and spec.loader is not None
    runtime = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runtime)
    return runtime


def _write_status(pid: int, status: int) -> None:
    path = _statuses.pop(pid, None)
    if path is None:
        _early[pid] = status
        return
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    tmp = f"{path}.tmp"
    try:
        with open(tmp, "w") as out:
            out.write(str(code))
        os.replace(tmp, path)  # the parent never reads half a status
    except OSError:
        pass  # the environment's directory is gone: nobody waits for this status


def _reap(*_: Any) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _write_status(pid, status)


def _child_path(env: dict[str, str]) -> list[str]:
    """``sys.path`` of ``python lambda_runtime.py`` under ``env`` (the runtime then moves its
    own directory out and ``code_dir`` in, as it does when started fresh)."""
    theirs = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    rest = [p for p in _base_path[1:] if p not in _own_pythonpath]
    return [os.path.dirname(_RUNNER), *theirs, *rest]


def _become_runtime(runtime: Any, request: dict[str, Any], fds: list[int], control: int) -> None:
    """In the forked child: never returns."""
    code = 1
    try:
        os.close(control)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        for fd in fds:
            if fd > 2:
                os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.path[:] = _child_path(request["env"])
        sys.modules.pop("sitecustomize", None)
        if importlib.util.find_spec("sitecustomize") is not None:
            importlib.import_module("sitecustomize")  # as the interpreter does at start
        argv = [_RUNNER, request["code_dir"], request["handler"]]
        sys.argv = argv
        try:
            code = runtime.main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        atexit._run_exitfuncs()  # noqa: SLF001 - what a normal interpreter exit runs
    except BaseException:  # noqa: BLE001 - the child must end here, whatever happened
        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # closed by the function: nothing to flush
                stream.flush()
        os._exit(code)


def serve(control: socket.socket) -> None:
    runtime = _preload()
    signal.signal(signal.SIGCHLD, _reap)
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 1 << 20, 3)
        except InterruptedError:
            continue
        if not message:
            return  # the parent is gone
        request = json.loads(message)
        pid = os.fork()
        if pid == 0:
            _become_runtime(runtime, request, fds, control.fileno())
        _statuses[pid] = request["status"]
        if pid in _early:  # it ended before the line above
            _write_status(pid, _early.pop(pid))
        for fd in fds:
            os.close(fd)
        control.send(json.dumps({"pid": pid}).encode())


def main(argv: list[str]) -> int:
    control = socket.socket(fileno=int(argv[1]))
    try:
        serve(control)
    finally:
        control.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
