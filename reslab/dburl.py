"""Database URLs: one parser and one connect() for PostgreSQL and MySQL/MariaDB.

Accepted forms::

    postgresql://user:pass@host:5432/dbname      (also postgres://)
    postgresql://user@/dbname?host=/tmp/sockdir  (unix socket, as pgserver gives)
    mysql://user:pass@host:3306/dbname           (also mariadb://, mysql+pymysql://)

Passwords never appear in ``DbTarget.redacted()``, which is what logs and reports show.
"""

from __future__ import annotations

import threading
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
    return _mysql_connection_class()(
        host=target.host,
        port=target.port,
        user=target.user,
        password=target.password,
        database=target.dbname,
        autocommit=autocommit,
        connect_timeout=connect_timeout,
        charset="utf8mb4",
    )


_MYSQL_CLASS: list[type] = []
_PREFERRED_TLS: list[Any] = []
_LOCK = threading.Lock()


def _mysql_connection_class() -> type:
    """PyMySQL's Connection, except that its default TLS mode (PREFERRED: TLS if the server
    offers it, the server's certificate not verified) shares one TLS context per process.

    PyMySQL builds that context anew for every connection with ``ssl.create_default_context()``,
    whose loading of the system's CA certificates costs about 35 ms of CPU, for certificates
    that mode never consults (``verify_mode = CERT_NONE``). db-diff opens three connections
    at once. Any explicit TLS option keeps PyMySQL's own context."""
    with _LOCK:
        if not _MYSQL_CLASS:
            import ssl

            from pymysql.connections import Connection

            class PreferredTlsConnection(Connection):  # type: ignore[misc]
                def _create_ssl_ctx(self, sslp: Any) -> Any:
                    if isinstance(sslp, dict) and not sslp:
                        return _preferred_tls(ssl)
                    return super()._create_ssl_ctx(sslp)

            _MYSQL_CLASS.append(PreferredTlsConnection)
    return _MYSQL_CLASS[0]


def _preferred_tls(ssl: Any) -> Any:
    """What PyMySQL's ``_create_ssl_ctx({})`` returns, without loading CA certificates."""
    with _LOCK:
        if not _PREFERRED_TLS:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            context.verify_flags &= ~ssl.VERIFY_X509_STRICT
            _PREFERRED_TLS.append(context)
    return _PREFERRED_TLS[0]
