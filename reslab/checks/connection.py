"""Connections from URLs or caller-supplied DB-API connections, closed only if we opened them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from reslab.checks.engines.base import driver_of
from reslab.checks.errors import DatabaseUnreachable
from reslab.dburl import DbTarget, connect, parse_db_url


def describe(conn_or_url: Any) -> str:
    """What reports show for a database: the redacted URL, or the connection's DSN sans password."""
    if isinstance(conn_or_url, str | DbTarget):
        target = parse_db_url(conn_or_url) if isinstance(conn_or_url, str) else conn_or_url
        return target.redacted()
    driver = driver_of(conn_or_url)
    if driver == "postgres":
        info = conn_or_url.info
        socket = info.host if info.host.startswith("/") else None
        target = DbTarget("postgres", info.host, info.port, info.user, "", info.dbname, socket)
        return target.redacted()
    if driver == "mysql":
        c = conn_or_url
        db, user = (v.decode() if isinstance(v, bytes) else str(v) for v in (c.db, c.user))
        return DbTarget("mysql", c.host, c.port, user, "", db).redacted()
    return type(conn_or_url).__name__


def is_connection(conn_or_url: Any) -> bool:
    return not isinstance(conn_or_url, str | DbTarget)


@contextmanager
def opened(conn_or_url: Any) -> Iterator[Any]:
    """Yield a connection: a URL is connected (and closed after), a connection passes through."""
    if is_connection(conn_or_url):
        yield conn_or_url
        return
    target = parse_db_url(conn_or_url) if isinstance(conn_or_url, str) else conn_or_url
    try:
        conn = connect(target, autocommit=True)
    except Exception as exc:
        raise DatabaseUnreachable(f"cannot connect to {target.redacted()}: {exc}") from exc
    try:
        yield conn
    finally:
        conn.close()
