"""The data behind the local cloud's RDS snapshots: copies of real databases (``dbbacking``).

moto records a DB snapshot's metadata only; the moto patch (``compat/rds_snapshots.py``) asks
this store to copy the data when a snapshot is created and to load it into a restored
instance's fresh backing database:

* capture: the source instance's data AS IT IS NOW -- PostgreSQL: ``pg_dump -Fc`` into
  ``<state_dir>/rds-snapshots/<hash>.dump`` (binaries matching the server's major version:
  ``/usr/lib/postgresql/<major>/bin`` or pgserver's bundled ones); MySQL/MariaDB: a database
  ``snap_<hash>`` on the same server filled with ``SHOW CREATE TABLE`` + ``INSERT ... SELECT``
  per base table; on ``private-mysql`` servers (one per instance, gone with it) a
  ``mariadb-dump`` file, like PostgreSQL's;
* restore: exactly that data into the new instance's backing database, owned by the SOURCE's
  login (as on AWS, a restored instance keeps the snapshot's master user and password);
* forget: deleting a snapshot deletes the copy.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql

from reslab.checks.quoting import quote_mysql
from reslab.dburl import DbTarget, connect
from reslab.errors import LocalCloudError
from reslab.localcloud import dbbacking
from reslab.localcloud.context import cloud_context
from reslab.localcloud.serialise import released

_PG_LOCATIONS = ("/usr/lib/postgresql/{major}/bin", "/usr/local/pgsql-{major}/bin")


@dataclass(frozen=True)
class Capture:
    engine: str  # "postgres" | "mysql" | "mysql-dump" | "empty"
    location: str  # dump file (postgres, mysql-dump) or snapshot database name (mysql)
    owner: DbTarget | None  # the source's login: the restored data belongs to it
    admin: DbTarget | None = None  # the server's admin login (mysql: holds the snapshot DB)


def _pg_bin(target: DbTarget, tool: str) -> str:
    with connect(target) as conn:
        num = int(conn.execute("SHOW server_version_num").fetchone()[0])
    major = num // 10000
    for pattern in _PG_LOCATIONS:
        path = Path(pattern.format(major=major)) / tool
        if path.exists():
            return str(path)
    import pgserver

    return str(Path(pgserver.__file__).parent / "pginstall" / "bin" / tool)


def _pg_args(target: DbTarget) -> list[str]:
    return [
        "--host",
        target.socket_dir or target.host,
        "--port",
        str(target.port),
        "--username",
        target.user,
        "--dbname",
        target.dbname,
    ]


def _pg_env(target: DbTarget) -> dict[str, str]:
    env = dict(os.environ)
    env["PGPASSWORD"] = target.password  # child env only, never logged
    env["PGCONNECT_TIMEOUT"] = "10"
    return env


def _run(argv: list[str], env: dict[str, str], what: str) -> None:
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise LocalCloudError(f"{what} failed: {proc.stderr.strip()[-500:]}")


def _mysql_tables(cur: Any, schema: str) -> list[str]:
    cur.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = %s AND table_type = 'BASE TABLE' ORDER BY table_name",
        (schema,),
    )
    return [str(row[0]) for row in cur.fetchall()]


def _mysql_copy(admin: DbTarget, source_db: str, target_db: str, create: bool) -> None:
    """Copy every base table (DDL with keys and indexes, then rows) from one schema to another."""
    conn = connect(admin.with_dbname("mysql"))
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION foreign_key_checks = 0")
            if create:
                cur.execute(f"CREATE DATABASE {quote_mysql(target_db)}")
            for table in _mysql_tables(cur, source_db):
                cur.execute(f"SHOW CREATE TABLE {quote_mysql(source_db)}.{quote_mysql(table)}")
                ddl = str(cur.fetchone()[1])
                cur.execute(f"USE {quote_mysql(target_db)}")
                cur.execute(ddl)
                src = f"{quote_mysql(source_db)}.{quote_mysql(table)}"
                dst = f"{quote_mysql(target_db)}.{quote_mysql(table)}"
                cur.execute(f"INSERT INTO {dst} SELECT * FROM {src}")  # noqa: S608 - quoted idents
    finally:
        conn.close()


def _private_root(target: DbTarget) -> DbTarget:
    """Root of the instance's own ``private-mysql`` server (loopback, no password)."""
    return DbTarget("mysql", "127.0.0.1", target.port, "root", "", target.dbname)


def _mysql_dump(root: DbTarget, database: str, path: Path) -> None:
    argv = [
        "mariadb-dump",
        f"--host={root.host}",
        f"--port={root.port}",
        f"--user={root.user}",
        "--single-transaction",
        "--skip-lock-tables",
        f"--result-file={path}",
        database,
    ]
    _run(argv, dict(os.environ), "mariadb-dump")


#: MariaDB's "Can't find any matching row in the user table".
_NO_SUCH_ACCOUNT = 1133


def _accounts_path(dump: Path) -> Path:
    return dump.with_suffix(".accounts.json")


def _mysql_accounts(root: DbTarget) -> list[dict[str, Any]]:
    """Every account of a private server with its definition and grants: an RDS snapshot is a
    copy of the whole volume, so a restored instance keeps the source's users (the DMS source
    user, the app's logins), not only the master user."""
    conn = connect(root.with_dbname("mysql"))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT user, host, is_role FROM mysql.user ORDER BY is_role DESC, user")
            accounts = [(str(u), str(h), str(r) == "Y") for u, h, r in cur.fetchall()]
            found = []
            for user, host, role in accounts:
                if role:  # roles first: the users' grants may name them
                    create = f"CREATE ROLE IF NOT EXISTS {quote_mysql(user)}"
                    cur.execute(f"SHOW GRANTS FOR {quote_mysql(user)}")
                else:
                    try:
                        cur.execute("SHOW CREATE USER %s@%s", (user, host))
                    except pymysql.err.OperationalError as exc:
                        if exc.args[0] != _NO_SUCH_ACCOUNT:
                            raise
                        # a host NAME under skip_name_resolve (the data directory template's
                        # root@<hostname>): no login can use it, every private server has it
                        continue
                    create = str(cur.fetchone()[0])
                    cur.execute("SHOW GRANTS FOR %s@%s", (user, host))
                grants = [str(row[0]) for row in cur.fetchall()]
                found.append({"user": user, "host": host, "create": create, "grants": grants})
            return found
    finally:
        conn.close()


def _restore_accounts(root: DbTarget, accounts: list[dict[str, Any]]) -> None:
    """The snapshot's accounts the new server lacks, with their grants (the statements the
    source server itself wrote: ``SHOW CREATE USER`` / ``SHOW GRANTS``)."""
    conn = connect(root.with_dbname("mysql"))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT user, host FROM mysql.user")
            present = {(str(user), str(host)) for user, host in cur.fetchall()}
            for account in accounts:
                if (account["user"], account["host"]) in present:
                    continue
                cur.execute(account["create"])
                for grant in account["grants"]:
                    cur.execute(grant)
    finally:
        conn.close()


def _mysql_load(root: DbTarget, path: Path, database: str, owner: DbTarget | None) -> None:
    """The dump into ``database`` of the new instance's server; the snapshot's master login
    (``owner``, with its password) made there too, as a restored RDS instance keeps it."""
    conn = connect(root.with_dbname("mysql"))
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS {quote_mysql(database)}")
            if owner is not None:
                for host in ("%", "localhost"):
                    cur.execute(
                        "CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s",
                        (owner.user, host, owner.password),
                    )
                    cur.execute(
                        "ALTER USER %s@%s IDENTIFIED BY %s", (owner.user, host, owner.password)
                    )
                    cur.execute(
                        f"GRANT {dbbacking.RDS_MASTER_PRIVILEGES} ON *.* TO %s@%s "
                        "WITH GRANT OPTION",
                        (owner.user, host),
                    )
    finally:
        conn.close()
    argv = ["mariadb", f"--host={root.host}", f"--port={root.port}", f"--user={root.user}"]
    with open(path, "rb") as dump:
        proc = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [*argv, database], stdin=dump, capture_output=True, timeout=300, check=False
        )
    if proc.returncode != 0:
        raise LocalCloudError(f"mariadb (load) failed: {proc.stderr.decode()[-500:]}")
    accounts = _accounts_path(path)
    if accounts.exists():
        _restore_accounts(root, json.loads(accounts.read_text()))


class SnapshotStore:
    """The data copies behind moto's DB snapshots (one per region + snapshot id).

    Copying data (pg_dump, pg_restore, SQL) touches no moto state: it runs outside the local
    cloud's request lock, so other requests are served meanwhile."""

    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir / "rds-snapshots"
        self._captures: dict[str, Capture] = {}
        self._lock = threading.RLock()

    @staticmethod
    def key(region: str, snapshot_id: str) -> str:
        return f"{region}/{snapshot_id}"

    def get(self, key: str) -> Capture | None:
        with self._lock:
            return self._captures.get(key)

    def alias(self, key: str, new_key: str) -> None:
        with self._lock:
            if key in self._captures:
                self._captures[new_key] = self._captures[key]

    def record_empty(self, key: str, owner: DbTarget | None) -> None:
        with self._lock:
            self._captures[key] = Capture("empty", "", owner)

    def capture(self, key: str, source: DbTarget) -> Capture:
        """Copy the source's data now."""
        with released():
            return self._capture(key, source)

    def _capture(self, key: str, source: DbTarget) -> Capture:
        if source.engine == "postgres":
            path = self.root / (hashlib.sha256(key.encode()).hexdigest()[:24] + ".dump")
            path.parent.mkdir(parents=True, exist_ok=True)
            argv = [_pg_bin(source, "pg_dump"), "-Fc", "--no-owner", "--no-privileges"]
            _run([*argv, *_pg_args(source), "--file", str(path)], _pg_env(source), "pg_dump")
            capture = Capture("postgres", str(path), source)
        elif dbbacking.backing().private_mysql:
            path = self.root / (hashlib.sha256(key.encode()).hexdigest()[:24] + ".sql")
            path.parent.mkdir(parents=True, exist_ok=True)
            _mysql_dump(_private_root(source), source.dbname, path)
            accounts = _mysql_accounts(_private_root(source))
            _accounts_path(path).write_text(json.dumps(accounts))
            capture = Capture("mysql-dump", str(path), source)
        else:
            admin = _admin()
            snap_db = "snap_" + hashlib.sha256(key.encode()).hexdigest()[:20]
            _drop_mysql_db(admin, snap_db)
            _mysql_copy(admin, source.dbname, snap_db, create=True)
            capture = Capture("mysql", snap_db, source, admin)
        with self._lock:
            self._captures[key] = capture
        return capture

    def restore(self, key: str, target: DbTarget) -> None:
        """Load the snapshot's data into ``target`` (the new instance's empty backing DB)."""
        with released():
            self._restore(key, target)

    def _restore(self, key: str, target: DbTarget) -> None:
        capture = self.get(key)
        if capture is None or capture.engine == "empty":
            return
        owner = capture.owner
        if capture.engine == "postgres":
            _pg_restore(capture, target)
        elif capture.engine == "mysql-dump":
            _mysql_load(_private_root(target), Path(capture.location), target.dbname, owner)
        else:
            admin = capture.admin or _admin()
            _mysql_copy(admin, capture.location, target.dbname, create=False)
            if owner is not None and owner.user != target.user:
                _mysql_grant(admin, target.dbname, owner)
                _drop_mysql_user(admin, target.user)

    def forget(self, key: str) -> None:
        with self._lock:
            capture = self._captures.pop(key, None)
            still_used = capture is not None and capture in self._captures.values()
        if capture is None or still_used:
            return
        if capture.engine in ("postgres", "mysql-dump"):
            Path(capture.location).unlink(missing_ok=True)
            _accounts_path(Path(capture.location)).unlink(missing_ok=True)
        elif capture.engine == "mysql":
            _drop_mysql_db(capture.admin or _admin(), capture.location)

    def reset(self) -> None:
        with self._lock:
            keys = list(self._captures)
        for key in keys:
            try:
                self.forget(key)
            except Exception:  # noqa: BLE001, S112 - best effort (server may be gone)
                continue
        shutil.rmtree(self.root, ignore_errors=True)

    def shutdown(self) -> None:
        self.reset()


def _admin() -> DbTarget:
    admin = dbbacking.backing().admin
    if admin is None:
        raise LocalCloudError("MySQL snapshots need the local cloud's db_url (admin login)")
    return admin


def _drop_mysql_db(admin: DbTarget, name: str) -> None:
    conn = connect(admin.with_dbname("mysql"))
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {quote_mysql(name)}")
    finally:
        conn.close()


def _drop_mysql_user(admin: DbTarget, user: str) -> None:
    conn = connect(admin.with_dbname("mysql"))
    try:
        with conn.cursor() as cur:
            for host in ("%", "localhost"):
                cur.execute("DROP USER IF EXISTS %s@%s", (user, host))
    finally:
        conn.close()


def _mysql_grant(admin: DbTarget, dbname: str, owner: DbTarget) -> None:
    conn = connect(admin.with_dbname("mysql"))
    try:
        with conn.cursor() as cur:
            for host in ("%", "localhost"):
                cur.execute(
                    "SELECT COUNT(*) FROM mysql.user WHERE user = %s AND host = %s",
                    (owner.user, host),
                )
                if int(cur.fetchone()[0]) == 0:
                    cur.execute(
                        "CREATE USER %s@%s IDENTIFIED BY %s", (owner.user, host, owner.password)
                    )
                cur.execute(
                    f"GRANT ALL PRIVILEGES ON {quote_mysql(dbname)}.* TO %s@%s", (owner.user, host)
                )
    finally:
        conn.close()


def _pg_restore(capture: Capture, target: DbTarget) -> None:
    """pg_restore as the target's login (or the server admin), objects owned by the source login."""
    from psycopg import sql

    admin = dbbacking.backing().admin
    runner = admin.with_dbname(target.dbname) if admin is not None else target
    owner = capture.owner
    role: str | None = None
    if owner is not None and owner.user != runner.user:
        role = owner.user
        with connect(runner) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", (owner.user,)
            ).fetchone()
            if not exists:  # a fresh embedded server: recreate the snapshot's master login
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN SUPERUSER PASSWORD {}").format(
                        sql.Identifier(owner.user), sql.Literal(owner.password)
                    )
                )
            conn.execute(
                sql.SQL("GRANT ALL ON DATABASE {} TO {}").format(
                    sql.Identifier(target.dbname), sql.Identifier(owner.user)
                )
            )
            conn.execute(
                sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(owner.user))
            )
    argv = [_pg_bin(runner, "pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error"]
    if role:
        argv += ["--role", role]
    _run([*argv, *_pg_args(runner), capture.location], _pg_env(runner), "pg_restore")
    if role and owner is not None:
        _pg_hand_over(admin, target, owner)


def _pg_hand_over(admin: DbTarget | None, target: DbTarget, owner: DbTarget) -> None:
    """Make the restored DB the snapshot's: owned by the source login, without the login the
    local cloud generated for the new instance (a restored RDS instance has the snapshot's
    logins only, so the security.user_count check compares like with like)."""
    from psycopg import sql

    as_owner = DbTarget(
        engine="postgres",
        host=target.host,
        port=target.port,
        user=owner.user,
        password=owner.password,
        dbname=target.dbname,
        socket_dir=target.socket_dir,
    )
    with connect(admin.with_dbname(target.dbname) if admin is not None else as_owner) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(target.dbname), sql.Identifier(owner.user)
            )
        )
        conn.execute(
            sql.SQL("REASSIGN OWNED BY {} TO {}").format(
                sql.Identifier(target.user), sql.Identifier(owner.user)
            )
        )
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(target.user)))
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(target.user)))


def store() -> SnapshotStore:
    """The running local cloud's SnapshotStore (created on first use)."""
    if cloud_context.state_dir is None:
        raise LocalCloudError("the local cloud is not running")
    state_dir = cloud_context.state_dir
    return cloud_context.service("rds_snapshots", lambda: SnapshotStore(state_dir))
