"""Real databases behind moto's RDS instances.

Each moto DB instance gets a real database:

* default (no ``db_url``): its own embedded PostgreSQL (``pgserver.get_server(dir)``), reached over
  a unix socket. The instance's Endpoint.Address is the socket DIRECTORY and Endpoint.Port the
  port; ``psycopg.connect(host=Address, port=Port, ...)`` works as is, and
  ``reslab.dburl`` takes it as ``postgresql://user:pw@/db?host=<Address>``.
* ``db_url`` given (postgres or mysql URL): a per-instance database ``<instance id>`` (sanitised)
  on that server, dropped when the instance is deleted.
* ``db_url`` = :data:`PRIVATE_MYSQL`: each instance its own private MariaDB with a binary log
  (``binlog_server.BinlogServer``), as each RDS MySQL instance is its own server: ``DBName`` and
  the master user are honoured, and a read replica's server really follows its source's (GTID
  replication from the source's first binlog, read-only, ``log_slave_updates``), so it holds
  what the primary wrote, moments later, and a DMS task can read its binlog (docs/dms.md).

Either way a per-instance login role with a generated password is created; its credentials go
into the instance's managed secret (never logged). The backing engine wins over the template's
``Engine`` when they differ.

Module-level API for other layers (``compat/rds.py``, the snapshot store ``dbsnapshots``)::

    provision_instance(instance_id, engine) -> DbTarget
    drop_instance(instance_id) -> None
    target_for(instance_id) -> DbTarget | None
"""

from __future__ import annotations

import contextlib
import re
import secrets
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reslab.checks.quoting import quote_mysql
from reslab.dburl import DbTarget, connect, parse_db_url
from reslab.errors import LocalCloudError
from reslab.localcloud.context import cloud_context
from reslab.localcloud.serialise import released

if TYPE_CHECKING:
    from reslab.localcloud.binlog_server import BinlogServer

_IDENT_RE = re.compile(r"[^a-z0-9_]")
#: The ``db_url`` that gives every MySQL instance its own private binlog server.
PRIVATE_MYSQL = "private-mysql"
#: The database a private MySQL instance without ``DBName`` is reached in (RDS creates none).
_NO_DBNAME = "mysql"
#: What RDS gives a MySQL master user: no SUPER (so a read replica's read_only holds for it),
#: but CREATE USER, the replication privileges and GRANT OPTION (the bootstrap makes the DMS user).
RDS_MASTER_PRIVILEGES = (
    "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, PROCESS, REFERENCES, INDEX, ALTER, "
    "SHOW DATABASES, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, REPLICATION SLAVE, "
    "REPLICATION CLIENT, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, CREATE USER, "
    "EVENT, TRIGGER, "
    # MariaDB's one database-level privilege MySQL lacks: without it "GRANT ALL ON db.*" (the
    # DMS target user's awsdms_control grant, which RDS MySQL's master may give) is refused
    "DELETE HISTORY"
)
#: What a stopped pgserver cluster keeps that belongs to that one server, not to a copy.
_SERVER_FILES = ("postmaster.pid", "postmaster.opts", "log", ".handle_pids.json")


def sanitise_identifier(name: str, limit: int = 63) -> str:
    """A safe SQL identifier from an RDS instance id: lowercase, [a-z0-9_], <= limit chars."""
    ident = _IDENT_RE.sub("_", name.lower())
    if not ident or ident[0].isdigit():
        ident = "db_" + ident
    return ident[:limit]


def generate_password() -> str:
    return secrets.token_urlsafe(24)


@dataclass
class _Backing:
    target: DbTarget
    admin: DbTarget  # a superuser login on the same server (blocks/unblocks connections)
    server: Any = None  # pgserver.PostgresServer when embedded
    pgdata: Path | None = None
    mysql_server: BinlogServer | None = None  # PRIVATE_MYSQL


class DbBacking:
    """Creates and drops the real databases; one per moto DB instance.

    Creating, dropping, blocking a database is slow and touches no moto state, so it runs
    outside the local cloud's request lock. ``_lock`` guards only the instance table (describing
    an instance never waits for another's server); ``_provisioning`` only what must not run
    concurrently; one instance is provisioned at most once at a time (``_starting``).
    """

    def __init__(self, db_url: str | None, state_dir: Path) -> None:
        self.private_mysql = db_url == PRIVATE_MYSQL
        self.admin = parse_db_url(db_url) if db_url and not self.private_mysql else None
        self.root = state_dir / "rds"
        self._instances: dict[str, _Backing] = {}
        self._lock = threading.RLock()
        #: pgserver's start/stop hold a process-wide file lock that is not thread-safe
        #: (concurrent cleanups fail "unacquired lock"); a shared server creates one DB at a time.
        self._provisioning = threading.Lock()
        self._starting: dict[str, threading.Lock] = {}
        #: The cluster new embedded instances copy: its own per DbBacking (switch_backing makes
        #: a second one on the same state dir), dot-named (no instance id has a dot).
        self._template = self.root / f".template-{uuid.uuid4().hex[:8]}"

    @property
    def engine(self) -> str:
        if self.private_mysql:
            return "mysql"
        return self.admin.engine if self.admin else "postgres"

    # -- public --------------------------------------------------------------------------------
    def provision_instance(
        self,
        instance_id: str,
        engine: str | None = None,
        dbname: str | None = None,
        master_username: str | None = None,
        login_from: str | None = None,
    ) -> DbTarget:
        """Create the real database for ``instance_id`` (idempotent). ``engine`` is the template's
        engine; the backing server's engine wins. ``dbname`` and ``master_username`` are honoured
        by the embedded server (a shared server uses the sanitised instance id for both).
        ``login_from``: reuse that instance's user and password (read replicas, as on AWS)."""
        with released(), self._starting_lock(instance_id):
            with self._lock:
                known = self._instances.get(instance_id)
                source = self._instances.get(login_from) if login_from else None
            if known is not None:
                return known.target
            login = (source.target.user, source.target.password) if source else None
            if self.private_mysql:
                backing = self._private_mysql(instance_id, dbname, master_username, source)
            elif self.admin is None:
                backing = self._embedded(instance_id, dbname, master_username, login)
            else:
                with self._provisioning:
                    backing = self._shared(instance_id, login)
            with self._lock:
                self._instances[instance_id] = backing
            return backing.target

    def _starting_lock(self, instance_id: str) -> threading.Lock:
        with self._lock:
            return self._starting.setdefault(instance_id, threading.Lock())

    def drop_instance(self, instance_id: str) -> None:
        with self._lock:
            backing = self._instances.pop(instance_id, None)
        if backing is None:
            return
        with released():
            if backing.mysql_server is not None:
                backing.mysql_server.shutdown()
                return
            if backing.server is not None:
                with self._provisioning:
                    backing.server.cleanup()
                if backing.pgdata is not None:
                    shutil.rmtree(backing.pgdata, ignore_errors=True)
                return
            with self._lock:
                login_in_use = any(
                    b.target.user == backing.target.user for b in self._instances.values()
                )
            self._drop_shared(backing.target, drop_login=not login_in_use)

    def promote(self, instance_id: str) -> None:
        """A read replica becomes a standalone, writable instance (its source is gone or it was
        promoted); nothing for other backings, whose replicas never followed."""
        with self._lock:
            backing = self._instances.get(instance_id)
        if backing is None or backing.mysql_server is None:
            return
        with released():
            conn = connect(backing.admin)
            try:
                with conn.cursor() as cur:
                    cur.execute("STOP SLAVE")
                    cur.execute("RESET SLAVE ALL")
                    cur.execute("SET GLOBAL read_only = 0")
            finally:
                conn.close()

    # -- outages (RebootDBInstance, StopDBInstance / StartDBInstance) ----------------------------
    def block(self, instance_id: str) -> None:
        """Refuse new connections to the instance's database and drop the open ones."""
        self._set_blocked(instance_id, True)

    def unblock(self, instance_id: str) -> None:
        self._set_blocked(instance_id, False)

    def interrupt(self, instance_id: str, seconds: float) -> None:
        """A reboot: connections dropped and refused for ``seconds``, then accepted again."""
        self.block(instance_id)
        timer = threading.Timer(seconds, self._unblock_quietly, args=(instance_id,))
        timer.daemon = True
        timer.start()

    def _unblock_quietly(self, instance_id: str) -> None:
        with contextlib.suppress(Exception):  # the instance may be gone meanwhile
            self.unblock(instance_id)

    def _set_blocked(self, instance_id: str, blocked: bool) -> None:
        with self._lock:
            backing = self._instances.get(instance_id)
        if backing is None:
            return
        with released():
            self._set_blocked_on_server(backing, blocked)

    @staticmethod
    def _set_blocked_on_server(backing: _Backing, blocked: bool) -> None:
        target, admin = backing.target, backing.admin
        if target.engine == "postgres":
            from psycopg import sql

            if admin.dbname == target.dbname:  # cannot disallow the database one is in
                admin = admin.with_dbname("template1")
            with connect(admin) as conn:
                conn.execute(
                    sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
                        sql.Identifier(target.dbname), sql.SQL("false" if blocked else "true")
                    )
                )
                if blocked:
                    conn.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()",
                        (target.dbname,),
                    )
            return
        conn = connect(admin)
        try:
            with conn.cursor() as cur:
                if backing.mysql_server is not None:  # a replica keeps its own account state
                    cur.execute("SET SESSION sql_log_bin = 0")
                for host in ("%", "localhost"):
                    verb = "LOCK" if blocked else "UNLOCK"
                    cur.execute(f"ALTER USER %s@%s ACCOUNT {verb}", (target.user, host))
                if blocked:
                    cur.execute(
                        "SELECT id FROM information_schema.processlist WHERE user = %s",
                        (target.user,),
                    )
                    for (pid,) in cur.fetchall():
                        with contextlib.suppress(Exception):
                            cur.execute("KILL %s", (int(pid),))
        finally:
            conn.close()

    def target_for(self, instance_id: str) -> DbTarget | None:
        with self._lock:
            backing = self._instances.get(instance_id)
            return backing.target if backing else None

    def reset(self) -> None:
        """Drop every backing database (embedded servers stop in parallel)."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(self.drop_instance, list(self._instances)))

    def shutdown(self) -> None:
        self.reset()
        shutil.rmtree(self._template, ignore_errors=True)

    # -- embedded PostgreSQL -------------------------------------------------------------------
    def _embedded(
        self,
        instance_id: str,
        dbname: str | None,
        master_username: str | None,
        login: tuple[str, str] | None,
    ) -> _Backing:
        import warnings

        import psycopg

        with warnings.catch_warnings():  # platformdirs: XDG_RUNTIME_DIR unset
            warnings.simplefilter("ignore")
            import pgserver
        from psycopg import sql

        pgdata = self.root / sanitise_identifier(instance_id)
        if not (pgdata / "PG_VERSION").exists():
            shutil.rmtree(pgdata, ignore_errors=True)
            self._copy_template(pgdata, pgserver)
        with self._provisioning:
            server = pgserver.get_server(pgdata, cleanup_mode="stop")
        info = server.get_postmaster_info()
        admin = parse_db_url(server.get_uri())
        name = sanitise_identifier(dbname or "postgres")
        user, password = login or (
            sanitise_identifier(master_username or "postgres"),
            generate_password(),
        )
        verb = "ALTER" if user == admin.user else "CREATE"
        with psycopg.connect(
            host=admin.socket_dir,
            port=info.port,
            user=admin.user,
            dbname="postgres",
            autocommit=True,
        ) as conn:
            conn.execute(
                sql.SQL(verb + " ROLE {} LOGIN SUPERUSER PASSWORD {}").format(
                    sql.Identifier(user), sql.Literal(password)
                )
            )
            if name != "postgres":
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(name), sql.Identifier(user)
                    )
                )
        target = DbTarget(
            engine="postgres",
            host=str(admin.socket_dir),
            port=int(info.port or 5432),
            user=user,
            password=password,
            dbname=name,
            socket_dir=admin.socket_dir,
        )
        admin_target = replace(admin, port=target.port, dbname="postgres")
        return _Backing(target=target, admin=admin_target, server=server, pgdata=pgdata)

    def _copy_template(self, pgdata: Path, pgserver: Any) -> None:
        """Make ``pgdata`` a copy of a cluster initialised once per DbBacking, so that pgserver
        starts it without initdb: initdb is ~1 CPU-second, and servers start one at a time
        (``_provisioning``), so with 20 labs (60 instances) it made a minute-long queue. The
        copy itself runs concurrently with other instances' starts.

        ``cp -a`` keeps the files' owner: as root, pgserver runs the server as its own user."""
        template = self._template
        with self._provisioning:
            if not (template / "PG_VERSION").exists():
                shutil.rmtree(template, ignore_errors=True)
                template.mkdir(parents=True)
                pgserver.get_server(template, cleanup_mode="stop").cleanup()
        subprocess.run(["cp", "-a", str(template), str(pgdata)], check=True)
        for name in _SERVER_FILES:
            (pgdata / name).unlink(missing_ok=True)

    # -- a private MySQL server per instance (PRIVATE_MYSQL) --------------------------------------
    def _private_mysql(
        self,
        instance_id: str,
        dbname: str | None,
        master_username: str | None,
        source: _Backing | None,
    ) -> _Backing:
        """Start the instance's own server. A replica's follows ``source``'s and so receives its
        master user, database and rows; a primary gets the master user (every privilege, with
        GRANT OPTION: RDS's master user creates the DMS user) and ``dbname``."""
        from reslab.localcloud.binlog_server import BinlogServer

        server = BinlogServer(self.root / sanitise_identifier(instance_id)).start()
        try:
            admin = parse_db_url(server.admin_url())
            if source is not None and source.mysql_server is not None:
                server.follow(source.mysql_server)
                target = replace(source.target, host="127.0.0.1", port=server.port)
                return _Backing(target=target, admin=admin, mysql_server=server)
            user = sanitise_identifier(master_username or "admin", 80)
            password = generate_password()
            name = sanitise_identifier(dbname, 64) if dbname else _NO_DBNAME
            conn = connect(admin)
            try:
                with conn.cursor() as cur:
                    if name != _NO_DBNAME:
                        cur.execute(f"CREATE DATABASE IF NOT EXISTS {quote_mysql(name)}")
                    for host in ("%", "localhost"):
                        cur.execute("CREATE USER %s@%s IDENTIFIED BY %s", (user, host, password))
                        cur.execute(
                            f"GRANT {RDS_MASTER_PRIVILEGES} ON *.* TO %s@%s WITH GRANT OPTION",
                            (user, host),
                        )
            finally:
                conn.close()
        except BaseException:
            server.shutdown()
            raise
        target = DbTarget(
            engine="mysql",
            host="127.0.0.1",
            port=server.port,
            user=user,
            password=password,
            dbname=name,
        )
        return _Backing(target=target, admin=admin, mysql_server=server)

    # -- database on a shared server (db_url) ---------------------------------------------------
    def _shared(self, instance_id: str, login: tuple[str, str] | None) -> _Backing:
        assert self.admin is not None
        name = sanitise_identifier(instance_id, 63 if self.admin.engine == "postgres" else 64)
        user, password = login or (
            sanitise_identifier(instance_id, 63 if self.admin.engine == "postgres" else 80),
            generate_password(),
        )
        try:
            if self.admin.engine == "postgres":
                self._create_pg(name, user, password, new_login=login is None)
            else:
                self._create_mysql(name, user, password, new_login=login is None)
        except Exception as exc:
            raise LocalCloudError(
                f"could not create the backing database for {instance_id} on "
                f"{self.admin.redacted()}: {type(exc).__name__}"
            ) from exc
        target = DbTarget(
            engine=self.admin.engine,
            host=self.admin.socket_dir or self.admin.host,
            port=self.admin.port,
            user=user,
            password=password,
            dbname=name,
            socket_dir=self.admin.socket_dir,
        )
        return _Backing(target=target, admin=self.admin)

    def _create_pg(self, name: str, user: str, password: str, new_login: bool) -> None:
        from psycopg import sql

        assert self.admin is not None
        with connect(self.admin) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            if new_login:
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(user)))
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                        sql.Identifier(user), sql.Literal(password)
                    )
                )
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(user)
                )
            )

    def _create_mysql(self, name: str, user: str, password: str, new_login: bool) -> None:
        assert self.admin is not None
        conn = connect(self.admin)
        try:
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS {quote_mysql(name)}")
                cur.execute(f"CREATE DATABASE {quote_mysql(name)}")
                for host in ("%", "localhost"):
                    if new_login:
                        cur.execute("DROP USER IF EXISTS %s@%s", (user, host))
                        cur.execute("CREATE USER %s@%s IDENTIFIED BY %s", (user, host, password))
                    cur.execute(
                        f"GRANT ALL PRIVILEGES ON {quote_mysql(name)}.* TO %s@%s", (user, host)
                    )
        finally:
            conn.close()

    def _drop_shared(self, target: DbTarget, drop_login: bool) -> None:
        """Drop the database, and the login unless another instance still uses it."""
        assert self.admin is not None
        if target.engine == "postgres":
            from psycopg import sql

            with connect(self.admin) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(target.dbname)
                    )
                )
                if drop_login:
                    conn.execute(
                        sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(target.user))
                    )
            return
        conn = connect(self.admin)
        try:
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS {quote_mysql(target.dbname)}")
                for host in ("%", "localhost") if drop_login else ():
                    cur.execute("DROP USER IF EXISTS %s@%s", (target.user, host))
        finally:
            conn.close()


def backing() -> DbBacking:
    """The running local cloud's DbBacking (created on first use)."""
    if cloud_context.state_dir is None:
        raise LocalCloudError("the local cloud is not running")
    state_dir = cloud_context.state_dir
    return cloud_context.service("db", lambda: DbBacking(cloud_context.db_url, state_dir))


@contextmanager
def switch_backing(db_url: str | None) -> Iterator[DbBacking]:
    """Back the instances created inside the block with ``db_url`` (None: embedded PostgreSQL),
    e.g. to test both engines on one shared LocalCloud. Those instances' databases are dropped
    on exit; instances created before keep their backing."""
    if cloud_context.state_dir is None:
        raise LocalCloudError("the local cloud is not running")
    mine = DbBacking(db_url, cloud_context.state_dir)
    with cloud_context.lock:
        previous = cloud_context.services.get("db")
        cloud_context.services["db"] = mine
    try:
        yield mine
    finally:
        with cloud_context.lock:
            cloud_context.services.pop("db", None)
            if previous is not None:
                cloud_context.services["db"] = previous
        mine.shutdown()


def provision_instance(instance_id: str, engine: str | None = None) -> DbTarget:
    return backing().provision_instance(instance_id, engine)


def drop_instance(instance_id: str) -> None:
    backing().drop_instance(instance_id)


def target_for(instance_id: str) -> DbTarget | None:
    if cloud_context.state_dir is None:
        return None
    return backing().target_for(instance_id)
