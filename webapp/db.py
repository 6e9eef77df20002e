"""Database URLs and connections for PostgreSQL and MySQL/MariaDB (no ``reslab`` import).

Accepts the same URL forms as ``reslab.dburl``::

    postgresql://user:pass@host:5432/dbname      (also postgres://)
    postgresql://user@/dbname?host=/tmp/sockdir  (unix socket)
    mysql://user:pass@host:3306/dbname           (also mariadb://, mysql+pymysql://)

Both drivers (psycopg 3 and PyMySQL) use the ``%s`` parameter style, so the SQL in this
package is written once for both engines.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import parse_qs, quote, unquote, urlsplit

Engine = Literal["postgres", "mysql"]

SCHEMES: dict[str, Engine] = {
    "postgresql": "postgres",
    "postgres": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mysql+pymysql": "mysql",
}
DEFAULT_PORTS: dict[Engine, int] = {"postgres": 5432, "mysql": 3306}
DEFAULT_USERS: dict[Engine, str] = {"postgres": "postgres", "mysql": "root"}
CONNECT_TIMEOUT_S = 3
IO_TIMEOUT_S = 10


class ConfigError(ValueError):
    """The database settings are missing or malformed."""


@dataclass(frozen=True)
class DbTarget:
    engine: Engine
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    dbname: str = ""
    socket_dir: str | None = None

    def redacted(self) -> str:
        """A URL for logs: the password is shown as ``***``."""
        scheme = "postgresql" if self.engine == "postgres" else "mysql"
        auth = quote(self.user, safe="") + (":***" if self.password else "")
        host = "" if self.socket_dir else f"{self.host}:{self.port}"
        query = f"?host={quote(self.socket_dir)}" if self.socket_dir else ""
        return f"{scheme}://{auth}@{host}/{self.dbname}{query}"

    def with_credentials(self, user: str, password: str) -> DbTarget:
        return replace(self, user=user, password=password)


def engine_from_name(name: str) -> Engine:
    """``postgres``/``postgresql``/``aurora-postgresql`` -> postgres; mysql/mariadb -> mysql."""
    lowered = name.strip().lower()
    for key, engine in (("postgres", "postgres"), ("mysql", "mysql"), ("mariadb", "mysql")):
        if key in lowered:
            return engine  # type: ignore[return-value]
    raise ConfigError(f"unsupported database engine {name!r}: use postgres or mysql")


def parse_db_url(url: str) -> DbTarget:
    parts = urlsplit(url)
    engine = SCHEMES.get(parts.scheme.lower())
    if engine is None:
        raise ConfigError(f"unsupported database URL scheme {parts.scheme!r}")
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname:
        raise ConfigError("the database URL names no database (add /DBNAME)")
    return DbTarget(
        engine=engine,
        host=parts.hostname or "localhost",
        port=parts.port or DEFAULT_PORTS[engine],
        user=unquote(parts.username or DEFAULT_USERS[engine]),
        password=unquote(parts.password or ""),
        dbname=dbname,
        socket_dir=parse_qs(parts.query).get("host", [None])[0],
    )


def connect(target: DbTarget, *, connect_timeout: int = CONNECT_TIMEOUT_S) -> Any:
    """Open an autocommit DB-API connection with short network timeouts."""
    if target.engine == "postgres":
        import psycopg

        return psycopg.connect(
            host=target.socket_dir or target.host,
            port=target.port,
            user=target.user,
            password=target.password or None,
            dbname=target.dbname,
            autocommit=True,
            connect_timeout=connect_timeout,
            # A half-open TCP connection (failed-over instance) errors out instead of hanging.
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=2,
            tcp_user_timeout=IO_TIMEOUT_S * 1000,
        )
    import pymysql

    return pymysql.connect(
        host=target.host,
        port=target.port,
        user=target.user,
        password=target.password,
        database=target.dbname,
        autocommit=True,
        connect_timeout=connect_timeout,
        read_timeout=IO_TIMEOUT_S,
        write_timeout=IO_TIMEOUT_S,
        charset="utf8mb4",
    )
