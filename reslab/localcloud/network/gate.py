"""The enforcement point: a loopback address a caller dials for one destination.

A :class:`Gate` listens on its own address (``127.77.x.y:port``) and either

* **accepts** new connections and forwards their bytes to the real destination (a database's
  TCP port or unix socket, the local cloud's API port), or
* is **shut** to new connections as AWS drops them: the listening socket's accept queue is kept
  full (``listen(0)`` plus one connection of its own that is never accepted), so the kernel
  drops the client's SYN and the client's ``connect()`` hangs until ITS timeout -- psycopg
  raises ``ConnectionTimeout``, PyMySQL error 2003 "timed out", botocore
  ``ConnectTimeoutError``, exactly what they raise against a security group or network ACL on
  AWS. A client still retrying its SYN when the gate opens again gets through, as on AWS.

Independently, its open connections either **flow** or are **frozen**: a network ACL is
stateless, so a deny drops every packet of an established connection too; frozen flows move no
byte (not even a FIN) in either direction and carry on if the deny is lifted before either end
gives up -- a blackhole, not a reset. Security groups track connections, so a rule removed
later shuts the gate to new connections but leaves open ones flowing.

Linux: the gates use addresses of 127.0.0.0/8 beyond 127.0.0.1 and the kernel's behaviour with
a full accept queue (SYNs dropped while ``tcp_abort_on_overflow`` is 0, the default).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import threading
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from reslab.errors import LocalCloudError

BACKLOG = 128
CHUNK = 65536
#: How long shutting waits for its own plug connection to be queued.
PLUG_TIMEOUT_S = 1.0

T = TypeVar("T")


class NetworkGateError(LocalCloudError):
    """A gate could not listen on its loopback address."""

    def __init__(self, message: str, os_errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = os_errno


Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Upstream(Protocol):
    def open(self) -> Awaitable[Streams]: ...


@dataclass(frozen=True)
class TcpUpstream:
    host: str
    port: int

    def open(self) -> Awaitable[Streams]:
        return asyncio.open_connection(self.host, self.port)

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class UnixUpstream:
    path: str  # e.g. <socket dir>/.s.PGSQL.5432 for an embedded PostgreSQL

    def open(self) -> Awaitable[Streams]:
        return asyncio.open_unix_connection(self.path)

    def __str__(self) -> str:
        return self.path


class EventLoop:
    """One asyncio loop in a daemon thread, shared by every gate of a switchboard."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="reslab-network", daemon=True
        )
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run ``coro`` on the loop and wait for its result (from any other thread)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()


class Gate:
    """One caller's way to one destination (see the module docstring)."""

    def __init__(self, loop: EventLoop, address: tuple[str, int], upstream: Upstream) -> None:
        self._events = loop
        self.upstream = upstream
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind(address)
        except OSError as exc:
            self._sock.close()
            raise NetworkGateError(_bind_advice(address, exc), exc.errno) from exc
        self._sock.setblocking(False)
        self._sock.listen(0)
        self.address: tuple[str, int] = self._sock.getsockname()
        self.accepting = False  # set by apply(); a new gate is shut
        self.flowing = True
        self._plugs: list[socket.socket] = []
        self._flows: set[asyncio.Task[None]] = set()
        self._live = asyncio.Event()
        loop.run(self._apply(False, True))

    # -- from any thread -------------------------------------------------------------------------
    def apply(self, accepting: bool, flowing: bool) -> None:
        """Accept new connections or not; let open ones flow or freeze them."""
        self._events.run(self._apply(accepting, flowing))

    @property
    def open_flows(self) -> int:
        return len(self._flows)

    def close(self) -> None:
        self._events.run(self._close())

    # -- on the loop -----------------------------------------------------------------------------
    async def _apply(self, accepting: bool, flowing: bool) -> None:
        self.flowing = flowing
        if flowing:
            self._live.set()
        else:
            self._live.clear()
        if accepting and not self.accepting:
            self._open()
        elif not accepting and (self.accepting or not self._plugs):
            await self._shut()
        self.accepting = accepting

    def _open(self) -> None:
        self._sock.listen(BACKLOG)
        self._accept_pending()  # callers whose SYN was retried while shut, and our plugs
        for plug in self._plugs:
            plug.close()
        self._plugs.clear()
        asyncio.get_running_loop().add_reader(self._sock, self._accept_pending)

    async def _shut(self) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._sock)
        self._sock.listen(0)
        for _attempt in range(3):
            # Connections that completed before the change are served (the change has not
            # reached them yet, as AWS's rule changes take a moment to apply too).
            self._accept_pending()
            plug = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            plug.setblocking(False)
            try:
                await asyncio.wait_for(loop.sock_connect(plug, self.address), PLUG_TIMEOUT_S)
            except (TimeoutError, OSError):
                plug.close()  # a client's SYN took the one queue slot: serve it, plug again
                continue
            self._plugs.append(plug)
            return
        raise NetworkGateError(f"could not shut {self.address[0]}:{self.address[1]}")

    def _accept_pending(self) -> None:
        plug_addresses = {p.getsockname() for p in self._plugs}
        while True:
            try:
                conn, peer = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            if peer in plug_addresses:
                conn.close()
                continue
            conn.setblocking(False)
            task = asyncio.get_running_loop().create_task(self._serve(conn))
            self._flows.add(task)
            task.add_done_callback(self._flows.discard)

    async def _serve(self, conn: socket.socket) -> None:
        reader, writer = await asyncio.open_connection(sock=conn)
        try:
            try:
                up_reader, up_writer = await self.upstream.open()
            except OSError:
                return  # the destination is down: the client sees the connection close
            try:
                await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))
            finally:
                up_writer.close()
        finally:
            writer.close()

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        """Copy bytes while the flow is live; when frozen, hold them (and the FIN) back."""
        try:
            while True:
                await self._live.wait()
                data = await source.read(CHUNK)
                await self._live.wait()
                if not data:
                    break
                sink.write(data)
                await sink.drain()
            if sink.can_write_eof():
                sink.write_eof()
        except (ConnectionError, OSError):
            sink.close()

    async def _close(self) -> None:
        with contextlib.suppress(ValueError, OSError):
            asyncio.get_running_loop().remove_reader(self._sock)
        for task in list(self._flows):
            task.cancel()
        for plug in self._plugs:
            plug.close()
        self._plugs.clear()
        self._sock.close()


def _bind_advice(address: tuple[str, int], exc: OSError) -> str:
    where = f"{address[0]}:{address[1]}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on {where}: port {address[1]} is taken on that address, or a "
            f"server listens on all addresses (0.0.0.0:{address[1]}); bind that server to "
            "127.0.0.1"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return (
            f"cannot listen on {where}: the network model needs the whole 127.0.0.0/8 loopback "
            "range (Linux)"
        )
    return f"cannot listen on {where}: {exc}"
