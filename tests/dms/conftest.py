"""Real databases for the DMS engine: a private MariaDB with binary logging and an embedded
PostgreSQL with wal_level=logical (one each per test session / xdist worker)."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from reslab.dburl import DbTarget, connect, parse_db_url
from reslab.localcloud.binlog_server import BinlogServer
from reslab.localcloud.logical_postgres import logical_server

SCHEMAS = Path(__file__).resolve().parents[2] / "webapp" / "schema"


@pytest.fixture(scope="session")
def server_dir() -> Iterator[Path]:
    """Data directories outside pytest's basetemp: each pytest session re-chmods that tree to
    0700, which locks out a server running as another user (pgserver does, as root) when two
    sessions run at once on one machine."""
    path = Path(tempfile.mkdtemp(prefix="reslab-dms-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def binlog_server(server_dir: Path) -> Iterator[BinlogServer]:
    with BinlogServer(server_dir / "mariadb") as server:
        yield server


@pytest.fixture(scope="session")
def logical_pg(server_dir: Path) -> Iterator[DbTarget]:
    (server_dir / "pglogical").mkdir()
    with logical_server(server_dir / "pglogical" / "pg") as admin:
        yield admin


def lab_schema(engine: str) -> str:
    return (SCHEMAS / f"{engine}.sql").read_text()


def _apply(target: DbTarget, sql: str) -> None:
    from webapp.schema import statements

    conn = connect(target)
    try:
        with conn.cursor() as cur:
            for statement in statements(sql):
                cur.execute(statement)
    finally:
        conn.close()


@pytest.fixture
def mysql_pair(binlog_server: BinlogServer) -> Iterator[tuple[DbTarget, DbTarget]]:
    """Source and target databases with the lab's schema on the binlog server."""
    suffix = uuid.uuid4().hex[:8]
    source = parse_db_url(binlog_server.create_database(f"src_{suffix}"))
    target = parse_db_url(binlog_server.create_database(f"tgt_{suffix}"))
    for db in (source, target):
        _apply(db, lab_schema("mysql"))
    yield source, target
    _apply(
        source.with_dbname("mysql"), f"DROP DATABASE {source.dbname}; DROP DATABASE {target.dbname}"
    )


@pytest.fixture
def postgres_pair(logical_pg: DbTarget) -> Iterator[tuple[DbTarget, DbTarget]]:
    suffix = uuid.uuid4().hex[:8]
    names = (f"src_{suffix}", f"tgt_{suffix}")
    with connect(logical_pg) as conn:
        for name in names:
            conn.execute(f"CREATE DATABASE {name}")
    pair = tuple(logical_pg.with_dbname(name) for name in names)
    for db in pair:
        _apply(db, lab_schema("postgres"))
    yield pair  # type: ignore[misc]
    with connect(logical_pg) as conn:
        for name in names:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(autouse=True)
def _dms_account_roles(request: pytest.FixtureRequest) -> None:
    """The account prerequisites ``reslab install`` creates for ``dms: true`` (``dms-vpc-role``
    first: the local cloud refuses a replication subnet group without it, as AWS does)."""
    if "local_cloud" in request.fixturenames:
        from reslab.installer.dms_roles import ensure_dms_service_roles

        ensure_dms_service_roles(request.getfixturevalue("local_cloud").client("iam"))
