"""One lock around moto's request handling: the local cloud serves one AWS call at a time.

moto 5.2.5's backends are plain dicts and lists that its handlers iterate and mutate with no
locking at all (IAM ``CreateRole`` scans ``roles`` while another thread's ``CreateRole`` inserts
into it: "dictionary changed size during iteration", HTTP 500). ThreadedMotoServer runs every
request in its own thread, so 20 labs deploying at once broke it. The handlers are pure Python
under the GIL, so running them one at a time costs next to nothing; what must never happen is
holding the lock while WAITING, above all for another request. Those waits step out of the lock
with :func:`released`:

* a Lambda runs in a child process that calls back into this server (``Invoke``, and every path
  that runs a function from inside another request: CloudFormation custom resources, S3/SNS/
  EventBridge notifications...) -- ``lambda_exec``;
* SQS long polling waits for another request's ``SendMessage`` -- patched here;
* the web tier's processes, embedded PostgreSQL start/stop, SQL on the backing databases,
  pg_dump/pg_restore: slow, and they touch no moto state -- ``webtier``, ``dbbacking``,
  ``dbsnapshots``.

Step Functions executions run in moto's own threads, not in requests, and reach Lambda and the
``aws-sdk`` integrations over HTTP, so each of their calls takes the lock like any client's.
``/moto-api/recorder/replay-recording`` sends requests to this server: never locked.

Deadlock rule: the request lock is the OUTERMOST lock. :func:`released` re-takes it when its
block ends, so that block must have left every other lock by then (``with released(), lock:``,
never ``with lock, released():``), and nothing holding another lock may take this one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

#: Requests that must never wait for the lock (they call back into this server themselves).
UNLOCKED_PATHS: tuple[str, ...] = ("/moto-api/recorder/replay-recording",)
#: Called with the WSGI environ when a request starts waiting for the lock; what each returns is
#: called once the request has it: a Lambda's timeout clock does not count its calls' waits
#: (``lambda_clock``). Both must be quick.
WAIT_OBSERVERS: list[Callable[[dict[str, Any]], Callable[[], None]]] = []
#: Called after each request's application call, still under the lock (the network model
#: re-evaluates its gates when the request changed routes, groups, ACLs...: ``compat.network``).
AFTER_REQUEST: list[Callable[[], None]] = []

_lock = threading.Lock()
_owner = threading.local()
_installed = False


def held() -> bool:
    """Whether the current thread is serving a request under the lock."""
    return bool(getattr(_owner, "held", False))


@contextmanager
def serialised() -> Iterator[None]:
    """Run the block as the only request in the local cloud."""
    _lock.acquire()
    _owner.held = True
    try:
        yield
    finally:
        _owner.held = False
        _lock.release()


@contextmanager
def released() -> Iterator[None]:
    """Let other requests run while this one waits (a child process, a database, a poll).

    A no-op outside a locked request (moto's Step Functions threads, timers, tests). The block
    must not touch moto's state, nor hold another lock when it ends (module docstring)."""
    if not held():
        yield
        return
    _owner.held = False
    _lock.release()
    try:
        yield
    finally:
        _lock.acquire()
        _owner.held = True


class SerialisedApp:
    """WSGI middleware: moto's application, one request at a time.

    Only the application call is locked; werkzeug writes the (already built) response after it
    returns, so a slow reader never holds up the other requests."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if str(environ.get("PATH_INFO", "")).startswith(UNLOCKED_PATHS):
            return self.app(environ, start_response)
        waits = [observe(environ) for observe in WAIT_OBSERVERS]
        with serialised():
            for acquired in waits:
                acquired()
            try:
                return self.app(environ, start_response)
            finally:
                for hook in AFTER_REQUEST:
                    hook()


def server(ip_address: str, port: int) -> Any:
    """A ThreadedMotoServer whose application is wrapped in :class:`SerialisedApp`."""
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    class SerialisedMotoServer(ThreadedMotoServer):
        """moto 5.2.5's ``_server_entry``, with the application wrapped."""

        def _server_entry(self) -> None:
            app = SerialisedApp(DomainDispatcherApplication(create_backend_app))
            self._server = make_server(
                self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
            )
            self._server_ready_event.set()
            self._server.serve_forever()

    return SerialisedMotoServer(ip_address=ip_address, port=port, verbose=False)


def _patch_sqs_long_poll() -> None:
    """``ReceiveMessage`` with ``WaitTimeSeconds`` waits for messages another request sends."""
    from moto.sqs.models import Queue

    wait_for_messages = Queue.wait_for_messages

    def wait_released(self: Any, timeout: int) -> None:
        with released():
            wait_for_messages(self, timeout)

    Queue.wait_for_messages = wait_released  # type: ignore[method-assign]


def install() -> None:
    """Patch moto's blocking waits to step out of the lock (idempotent)."""
    global _installed
    if _installed:
        return
    _patch_sqs_long_poll()
    _installed = True
