"""A private MariaDB server with row-based binary logging: what DMS change capture reads.

The machine's MariaDB (127.0.0.1:3306) runs with ``log_bin=OFF``, and binary logging cannot be
switched on without a restart, so a MySQL-engine RDS instance that a DMS task reads from is
backed by a server of our own: ``mariadbd`` on a free loopback port, in a data directory copied
from one initialised once per process (``mariadb-install-db`` takes ~5 s; a copy plus a start
~0.5 s), with the settings of the lab's RDS MySQL parameter group (``database.yaml``) and those
the binlog reader needs::

    with BinlogServer(tmp_path) as server:
        server.admin_url("resiliency")  # mysql://root@127.0.0.1:<port>/resiliency
        with dbbacking.switch_backing(server.admin_url("mysql")):
            ...  # RDS instances created here get a database on this server

Each server has its own ``tmpdir``: at start-up ``mariadbd`` deletes every ``#sql*`` file in its
tmpdir as temporary tables left by an earlier run, so a private server on the shared ``/tmp``
deleted the in-use temporary tables of the machine's server and of other private servers
(``Error on delete of '/tmp/#sql-temptable-….MAI' (Errcode: 2)`` in whatever query ran then).

``server_id`` differs per server, binlogs are kept ``BINLOG_RETENTION_SECONDS`` (the bootstrap's
``binlog retention hours`` = 24 on RDS), and ``binlog_row_metadata=FULL`` puts column names in
the row events (so the reader needs no information_schema look-up per table).
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

from reslab.errors import LocalCloudError

MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = "mariadb-install-db"
BINLOG_RETENTION_SECONDS = 24 * 3600
START_TIMEOUT_SECONDS = 60.0

#: The lab's RDS MySQL parameter group (binlog_checksum=NONE there too) plus the reader's needs.
SERVER_SETTINGS: tuple[str, ...] = (
    "--log-bin=binlog",
    "--binlog-format=ROW",
    "--binlog-row-image=FULL",
    "--binlog-row-metadata=FULL",
    "--binlog-checksum=NONE",
    # A replica writes what it applies to its own binary log, so DMS can read a read replica
    # (RDS MySQL: on when the replica has automated backups).
    "--log-slave-updates=ON",
    f"--binlog-expire-logs-seconds={BINLOG_RETENTION_SECONDS}",
    "--innodb-buffer-pool-size=32M",
    "--innodb-log-file-size=8M",
    "--skip-name-resolve",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_general_ci",
)

_template_lock = threading.Lock()
_template_dir: Path | None = None
_server_ids = itertools.count(1000 + os.getpid() % 10_000 * 10)


class BinlogServerError(LocalCloudError):
    """The private MariaDB server could not be initialised or did not start."""


def _as_root_args() -> list[str]:
    # mariadbd refuses to run as root unless told to; the files stay root's (a private server).
    return ["--user=root"] if os.geteuid() == 0 else []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def template_datadir() -> Path:
    """A data directory initialised once per process, copied by every server."""
    global _template_dir
    with _template_lock:
        if _template_dir is not None and (_template_dir / "mysql").is_dir():
            return _template_dir
        root = Path(tempfile.mkdtemp(prefix="reslab-mariadb-template-"))
        datadir = root / "data"
        private_tmp = root / "tmp"
        private_tmp.mkdir()
        result = subprocess.run(
            [
                INSTALL_DB,
                "--no-defaults",
                f"--datadir={datadir}",
                f"--tmpdir={private_tmp}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--innodb-log-file-size=8M",
                "--innodb-buffer-pool-size=16M",
                *_as_root_args(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise BinlogServerError(
                f"{INSTALL_DB} failed ({result.returncode}): {result.stderr.strip()[-500:]}"
            )
        _template_dir = datadir
        return datadir


class BinlogServer:
    """One ``mariadbd`` with binary logging, root without password on 127.0.0.1:<port>."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.datadir = self.root / "data"
        #: never the shared /tmp (see the module's docstring)
        self.tmpdir = self.root / "tmp"
        self.port = 0
        self.server_id = next(_server_ids)
        self._process: subprocess.Popen[bytes] | None = None
        #: Unix socket paths are limited to ~107 bytes: the socket lives in a short temp dir.
        self._socket_dir: Path | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> BinlogServer:
        if self._process is not None:
            return self
        if not (self.datadir / "mysql").is_dir():
            self.root.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(self.datadir, ignore_errors=True)
            shutil.copytree(template_datadir(), self.datadir, symlinks=True)
        self._socket_dir = Path(tempfile.mkdtemp(prefix="rmdb-"))
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        log = self.root / "error.log"
        self._process = subprocess.Popen(
            [
                MARIADBD,
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--tmpdir={self.tmpdir}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--socket={self._socket_dir / 'mysqld.sock'}",
                f"--pid-file={self.root / 'mysqld.pid'}",
                f"--log-error={log}",
                f"--server-id={self.server_id}",
                *SERVER_SETTINGS,
                *_as_root_args(),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            self._wait_until_ready(log)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self, log: Path) -> None:
        import pymysql

        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
                raise BinlogServerError(f"mariadbd exited ({self._process.returncode}): {tail}")
            try:
                pymysql.connect(
                    host="127.0.0.1", port=self.port, user="root", connect_timeout=1
                ).close()
                return
            except pymysql.err.OperationalError:
                if time.monotonic() > deadline:
                    raise BinlogServerError(
                        f"mariadbd did not accept connections within {START_TIMEOUT_SECONDS:.0f} s"
                    ) from None
                time.sleep(0.05)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None

    def shutdown(self) -> None:
        """Stop and remove the data directory (a local-cloud service's last call)."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def reset(self) -> None:
        """Nothing to forget: the databases on it belong to the instances that made them."""

    def __enter__(self) -> BinlogServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()

    # -- use -----------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def admin_url(self, dbname: str = "mysql") -> str:
        if not self.running:
            raise BinlogServerError("the private MariaDB server is not running")
        return f"mysql://root@127.0.0.1:{self.port}/{dbname}"

    def follow(self, primary: BinlogServer) -> None:
        """Become a read-only replica of ``primary`` (GTID replication from its first binlog),
        as an RDS read replica follows its source."""
        from reslab.dburl import connect

        conn = connect(self.admin_url())
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = %s, "
                    "MASTER_USER = 'root', MASTER_PASSWORD = '', MASTER_USE_GTID = slave_pos",
                    (primary.port,),
                )
                cur.execute("START SLAVE")
                cur.execute("SET GLOBAL read_only = 1")
        finally:
            conn.close()

    def create_database(self, name: str) -> str:
        """Create an empty database (dropped first if present); its admin URL."""
        from reslab.checks.quoting import quote_mysql
        from reslab.dburl import connect

        conn = connect(self.admin_url())
        try:
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS {quote_mysql(name)}")
                cur.execute(f"CREATE DATABASE {quote_mysql(name)}")
        finally:
            conn.close()
        return self.admin_url(name)


@atexit.register
def forget_template() -> None:
    """Remove the per-process template (at exit)."""
    global _template_dir
    with _template_lock:
        if _template_dir is not None:
            with contextlib.suppress(OSError):
                shutil.rmtree(_template_dir.parent)
        _template_dir = None
