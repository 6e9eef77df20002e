"""The local cloud's per-caller name resolution: an endpoint name -> that caller's gate.

On AWS the VPC's resolver decides what a database endpoint's name means for the asker (a
private address inside the VPC, the public one outside, nothing with DNS support off). Here the
caller's processes resolve such names through :class:`Resolver` (a WSGI app: ``GET
?caller=TOKEN&name=NAME``), asked by the ``sitecustomize`` shim in ``site/`` that
:func:`caller_environment` puts on their ``PYTHONPATH``. The answer is the address of the
caller's own gate for that destination, set as the model decides.
"""

from __future__ import annotations

import json
import os
import socket
import socketserver
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from reslab.localcloud.network.switchboard import Destination, Switchboard

#: The directory whose ``sitecustomize.py`` installs the resolver in a caller's Python.
SITE_DIR = Path(__file__).with_name("site")
#: Names the shim sends to the resolver (everything else resolves as usual).
RDS_SUFFIXES = (".rds.amazonaws.com", ".rds.amazonaws.com.cn")

Lookup = Callable[[str], Destination | None]


@dataclass(frozen=True)
class Resolution:
    address: str
    port: int
    refusal: str | None  # why new connections will hang (the shim logs it for the caller)


class Resolver:
    def __init__(self, switchboard: Switchboard, lookup: Lookup) -> None:
        self.switchboard = switchboard
        self.lookup = lookup

    def resolve(self, caller: str, name: str) -> Resolution | None:
        """None when the name means nothing to this caller (NXDOMAIN)."""
        destination = self.lookup(name.rstrip(".").lower())
        if destination is None:
            return None
        line = self.switchboard.dial(caller, destination)
        assert line.decision is not None
        refusal = line.decision.new.refusal
        if refusal is not None and refusal.step == "dns":
            return None
        address, port = line.address
        return Resolution(address, port, f"refused at {refusal}" if refusal else None)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        query = parse_qs(str(environ.get("QUERY_STRING", "")))
        caller, name = query.get("caller", [""])[0], query.get("name", [""])[0]
        if not caller or not name:
            return _reply(start_response, "400 Bad Request", {"error": "caller and name needed"})
        found = self.resolve(caller, name)
        if found is None:
            return _reply(start_response, "404 Not Found", {"error": "NXDOMAIN"})
        return _reply(start_response, "200 OK", asdict(found))


def _reply(start_response: Any, status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


class _Handler(WSGIRequestHandler):
    def setup(self) -> None:
        super().setup()
        # one small reply per question: no Nagle delay behind the header write
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class ResolverServer:
    """The resolver on its own loopback port (one thread per question)."""

    def __init__(self, resolver: Resolver, host: str = "127.0.0.1") -> None:
        self._server = _ThreadingServer((host, 0), _Handler)
        self._server.set_app(resolver)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="reslab-resolver", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def caller_environment(resolver_url: str, caller: str, base: dict[str, str]) -> dict[str, str]:
    """``base`` (a child process's environment) with the shim that resolves as ``caller``."""
    path = [str(SITE_DIR)] + [p for p in base.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {
        **base,
        "PYTHONPATH": os.pathsep.join(path),
        "RESLAB_NET_RESOLVER": resolver_url,
        "RESLAB_NET_CALLER": caller,
        "RESLAB_NET_SUFFIXES": ",".join(RDS_SUFFIXES),
    }
