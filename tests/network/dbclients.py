"""Real database clients for the network tests: connect through a gate, ask one value."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg
import pymysql

from reslab.localcloud.network.gate import TcpUpstream

#: The machine's real servers (see tests/dbservers.py).
UPSTREAMS = {"postgres": TcpUpstream("127.0.0.1", 5432), "mysql": TcpUpstream("127.0.0.1", 3306)}
PORTS = {"postgres": 5432, "mysql": 3306}


def connect(engine: str, address: tuple[str, int], timeout: int, **extra: Any) -> Any:
    host, port = address
    if engine == "postgres":
        return psycopg.connect(
            host=host,
            port=port,
            user="postgres",
            dbname="postgres",
            connect_timeout=timeout,
            autocommit=True,
            **extra,
        )
    return pymysql.connect(
        host=host, port=port, user="root", connect_timeout=timeout, autocommit=True, **extra
    )


def ask(conn: Any, sql: str) -> Any:
    if isinstance(conn, psycopg.Connection):
        row = conn.execute(sql).fetchone()
    else:
        with conn.cursor() as cur:
            cur.execute(sql)
            row = cur.fetchone()
    assert row is not None
    return row[0]


def is_connect_timeout(engine: str, exc: BaseException) -> bool:
    """What the driver raises when its connect times out (a dropped SYN, as on AWS)."""
    if engine == "postgres":
        return isinstance(exc, psycopg.errors.ConnectionTimeout)
    return (
        isinstance(exc, pymysql.err.OperationalError)
        and exc.args[0] == 2003
        and "timed out" in str(exc.args[1])
    )


class InBackground:
    """Run ``action`` in a thread; ``result()`` after it ends (re-raises its error)."""

    def __init__(self, action: Callable[[], Any]) -> None:
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(action,), daemon=True)
        self._thread.start()

    def _run(self, action: Callable[[], Any]) -> None:
        try:
            self._value = action()
        except BaseException as exc:
            self._error = exc

    def finished_within(self, seconds: float) -> bool:
        self._thread.join(seconds)
        return not self._thread.is_alive()

    def result(self) -> Any:
        assert not self._thread.is_alive(), "still running"
        if self._error is not None:
            raise self._error
        return self._value
