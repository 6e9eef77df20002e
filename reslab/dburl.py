"""Database URLs: one parser and one connect() for PostgreSQL and MySQL/MariaDB.

Accepted forms::

    postgresql://user:pass@host:5432/dbname      (also postgres://)
    postgresql://user@/dbname?host=/tmp/sockdir  (unix socket, as pgserver gives)
    mysql://user:pass@host:3306/dbname           (also mariadb://, mysql+pymysql://)

Passwords never appear in ``DbTarget.redacted()``, which is what logs and reports show.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal
from urllib.parse import parse_qs, quote, unquote, urlsplit

Engine = Literal["postgres", "mysql"]

_SCHEMES: dict[str, Engine] = {
    "postgresql": "postgres",
    "postgres": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mysql+pymysql": "mysql",
}
DEFAULT_PORTS: dict[Engine, int] = {"postgres": 5432, "mysql": 3306}


class InvalidDatabaseUrl(ValueError):
    """The URL's scheme is not a supported engine, or it names no database."""


@dataclass(frozen=True)
class DbTarget:
    engine: Engine
    host: str
    port: int
    user: str
    password: str
    dbname: str
    socket_dir: str | None = None

    def with_dbname(self, dbname: str) -> DbTarget:
        return replace(self, dbname=dbname)

    def url(self) -> str:
        scheme = "postgresql" if self.engine == "postgres" else "mysql"
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="*")
        host = "" if self.socket_dir else f"{self.host}:{self.port}"
        query = f"?host={quote(self.socket_dir)}" if self.socket_dir else ""
        return f"{scheme}://{auth}@{host}/{self.dbname}{query}"

    def redacted(self) -> str:
        """The URL with the password replaced by ``***``: safe for logs and reports."""
        return replace(self, password="***" if self.password else "").url()


def parse_db_url(url: str) -> DbTarget:
    parts = urlsplit(url)
    engine = _SCHEMES.get(parts.scheme.lower())
    if engine is None:
        raise InvalidDatabaseUrl(
            f"unsupported database URL scheme {parts.scheme!r}: use postgresql://... or mysql://..."
        )
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname:
        raise InvalidDatabaseUrl("the database URL names no database (add /DBNAME)")
    query = parse_qs(parts.query)
    socket_dir = query.get("host", [None])[0]
    return DbTarget(
        engine=engine,
        host=parts.hostname or "localhost",
        port=parts.port or DEFAULT_PORTS[engine],
        user=unquote(parts.username or ("postgres" if engine == "postgres" else "root")),
        password=unquote(parts.password or ""),
        dbname=dbname,
        socket_dir=socket_dir,
    )


def connect(target: DbTarget | str, *, autocommit: bool = True, connect_timeout: int = 5) -> Any:
    """Open a DB-API connection (psycopg 3 or PyMySQL) to the target."""
    if isinstance(target, str):
        target = parse_db_url(target)
    if target.engine == "postgres":
        import psycopg

        return psycopg.connect(
            host=target.socket_dir or target.host,
            port=target.port,
            user=target.user,
            password=target.password or None,
            dbname=target.dbname,
            autocommit=autocommit,
            connect_timeout=connect_timeout,
        )
    import pymysql

    return pymysql.connect(
        host=target.host,
        port=target.port,
        user=target.user,
        password=target.password,
        database=target.dbname,
        autocommit=autocommit,
        connect_timeout=connect_timeout,
        charset="utf8mb4",
    )
