"""The enforcement point with real sockets and the machine's real PostgreSQL and MariaDB."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest

from reslab.localcloud.network.gate import EventLoop, Gate, NetworkGateError, UnixUpstream
from reslab.localcloud.network.switchboard import gate_hosts, open_gate
from tests.network.dbclients import (
    PORTS,
    UPSTREAMS,
    InBackground,
    ask,
    connect,
    is_connect_timeout,
)

ENGINES = ["postgres", "mysql"]
CLIENT_TIMEOUT = 2


@pytest.fixture(scope="module")
def loop() -> Iterator[EventLoop]:
    events = EventLoop()
    yield events
    events.close()


@pytest.fixture
def new_gate(loop: EventLoop) -> Iterator[Callable[..., Gate]]:
    hosts = gate_hosts()
    made: list[Gate] = []

    def make(upstream: object, port: int) -> Gate:
        gate = open_gate(loop, hosts, port, upstream)  # type: ignore[arg-type]
        made.append(gate)
        return gate

    yield make
    for gate in made:
        gate.close()


def _wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.mark.parametrize("engine", ENGINES)
def test_an_open_gate_forwards_to_the_real_server(engine: str, new_gate) -> None:
    gate = new_gate(UPSTREAMS[engine], PORTS[engine])
    gate.apply(accepting=True, flowing=True)
    assert gate.address[0].startswith("127.77.") and gate.address[1] == PORTS[engine]
    conn = connect(engine, gate.address, CLIENT_TIMEOUT)
    try:
        assert ask(conn, "SELECT 41 + 1") == 42
        assert gate.open_flows == 1
    finally:
        conn.close()
    assert _wait_for(lambda: gate.open_flows == 0)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_shut_gate_hangs_the_connect_until_the_clients_own_timeout(engine: str, new_gate) -> None:
    gate = new_gate(UPSTREAMS[engine], PORTS[engine])  # a new gate is shut
    start = time.monotonic()
    with pytest.raises(Exception) as raised:
        connect(engine, gate.address, CLIENT_TIMEOUT)
    waited = time.monotonic() - start
    assert is_connect_timeout(engine, raised.value), raised.value
    assert waited >= CLIENT_TIMEOUT - 0.1, f"refused after {waited:.2f}s, not timed out"
    assert gate.open_flows == 0


def test_a_shut_gate_drops_the_syn_itself(new_gate) -> None:
    """Not accepted-then-silent: the TCP handshake never completes, as behind a dropping rule."""
    gate = new_gate(UPSTREAMS["postgres"], PORTS["postgres"])
    for _ in range(3):  # not only the first: the accept queue stays full
        with pytest.raises(TimeoutError):
            socket.create_connection(gate.address, timeout=0.5)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_client_retrying_while_shut_gets_through_when_the_gate_opens(
    engine: str, new_gate
) -> None:
    gate = new_gate(UPSTREAMS[engine], PORTS[engine])
    attempt = InBackground(lambda: connect(engine, gate.address, 10))
    assert not attempt.finished_within(0.5)  # its SYN is being dropped
    gate.apply(accepting=True, flowing=True)
    assert attempt.finished_within(10)
    conn = attempt.result()
    try:
        assert ask(conn, "SELECT 7") == 7
    finally:
        conn.close()


@pytest.mark.parametrize("engine", ENGINES)
def test_security_group_refusal_leaves_open_connections_flowing(engine: str, new_gate) -> None:
    gate = new_gate(UPSTREAMS[engine], PORTS[engine])
    gate.apply(accepting=True, flowing=True)
    conn = connect(engine, gate.address, CLIENT_TIMEOUT)
    try:
        gate.apply(accepting=False, flowing=True)  # tracked connections survive a rule change
        assert ask(conn, "SELECT 5") == 5
        with pytest.raises(Exception) as raised:
            connect(engine, gate.address, 1)
        assert is_connect_timeout(engine, raised.value), raised.value
    finally:
        conn.close()


@pytest.mark.parametrize("engine", ENGINES)
def test_network_acl_deny_freezes_open_connections_until_it_is_lifted(
    engine: str, new_gate
) -> None:
    gate = new_gate(UPSTREAMS[engine], PORTS[engine])
    gate.apply(accepting=True, flowing=True)
    conn = connect(engine, gate.address, CLIENT_TIMEOUT)
    try:
        gate.apply(accepting=False, flowing=False)
        query = InBackground(lambda: ask(conn, "SELECT 1234"))
        assert not query.finished_within(1.5), "a query went through a denied network ACL"
        with pytest.raises(Exception) as raised:
            connect(engine, gate.address, 1)
        assert is_connect_timeout(engine, raised.value), raised.value
        gate.apply(accepting=True, flowing=True)
        assert query.finished_within(5)
        assert query.result() == 1234  # held, not lost: TCP retransmits once the path heals
        assert ask(conn, "SELECT 99") == 99
    finally:
        conn.close()


def test_mysql_client_with_a_read_timeout_gives_up_on_a_frozen_connection(new_gate) -> None:
    gate = new_gate(UPSTREAMS["mysql"], PORTS["mysql"])
    gate.apply(accepting=True, flowing=True)
    conn = connect("mysql", gate.address, CLIENT_TIMEOUT, read_timeout=1)
    try:
        gate.apply(accepting=False, flowing=False)
        with pytest.raises(Exception) as raised:
            ask(conn, "SELECT 1")
        assert raised.value.args[0] == 2013  # Lost connection ... (timed out): no reset came
    finally:
        conn.close()


def test_postgres_through_its_unix_socket(new_gate) -> None:
    """The upstream of an embedded PostgreSQL (dbbacking's endpoint is a socket directory)."""
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres") as admin:
        row = admin.execute("SHOW unix_socket_directories").fetchone()
    assert row is not None
    socket_dir = row[0].split(",")[0].strip()
    gate = new_gate(UnixUpstream(f"{socket_dir}/.s.PGSQL.5432"), 5432)
    gate.apply(accepting=True, flowing=True)
    with connect("postgres", gate.address, CLIENT_TIMEOUT) as conn:
        assert ask(conn, "SELECT inet_client_addr() IS NULL")  # it came in over the socket


def test_a_destination_that_is_down_closes_the_clients_connection(new_gate) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # closed again: nothing listens there
    from reslab.localcloud.network.gate import TcpUpstream

    gate = new_gate(TcpUpstream("127.0.0.1", port), 5432)
    gate.apply(accepting=True, flowing=True)
    with pytest.raises(psycopg.OperationalError) as raised:
        connect("postgres", gate.address, CLIENT_TIMEOUT)
    assert not isinstance(raised.value, psycopg.errors.ConnectionTimeout)


def test_a_server_on_all_addresses_is_named_when_a_gate_cannot_listen(loop: EventLoop) -> None:
    with socket.socket() as wildcard:
        wildcard.bind(("0.0.0.0", 0))  # noqa: S104 - the conflict under test
        wildcard.listen()
        port = wildcard.getsockname()[1]
        with pytest.raises(NetworkGateError) as raised:
            Gate(loop, ("127.77.200.1", port), UPSTREAMS["postgres"])
    assert f"0.0.0.0:{port}" in str(raised.value)
