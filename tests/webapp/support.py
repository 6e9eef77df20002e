"""Test helpers: a stoppable TCP forwarder (the "database going away") and an in-thread server."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace

from werkzeug.serving import make_server

from webapp.app import create_app
from webapp.config import Settings
from webapp.db import connect, parse_db_url
from webapp.schema import ensure_schema

INSTANCE_ID = "i-0123456789abcdef0"
AZ = "us-east-2a"
IMAGE_URL = "https://example.com/lab.png"
WORKSHOP = "Resiliency Day <1>"


class TcpProxy:
    """Forwards 127.0.0.1:<port> to an upstream; ``stop()`` refuses new connections and cuts
    the open ones (like an instance failing over), ``start()`` serves again on the same port."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._listener: socket.socket | None = None
        self._stopping = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.05)
        self._listener = listener
        self._stopping.clear()
        self._thread = threading.Thread(target=self._accept_loop, args=(listener,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                upstream = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def settings_for(url: str, *, resilient: bool = False, port: int | None = None) -> Settings:
    target = parse_db_url(url)
    if port is not None:
        target = replace(target, host="127.0.0.1", port=port)
    return Settings(
        target=target,
        instance_id=INSTANCE_ID,
        az=AZ,
        image_url=IMAGE_URL,
        resilient=resilient,
        workshop=WORKSHOP,
        buffer_max=1000,
        retry_seconds=0.1,
    )


def create_schema(url: str) -> None:
    target = parse_db_url(url)
    conn = connect(target)
    try:
        ensure_schema(conn, target.engine)
    finally:
        conn.close()


@contextlib.contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """Run the app on werkzeug's threaded server on a free port; yield its base URL."""
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        app.extensions["webapp.store"].close()


def query(url: str, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    conn = connect(parse_db_url(url))
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return [tuple(row) for row in cur.fetchall()] if cur.description else []
    finally:
        conn.close()
