"""Fixtures: the session's local cloud, the restore machine installed once per engine, and
a backing-database switch (PostgreSQL on the embedded pgserver or the real server, MariaDB)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from reslab.localcloud.compat import rds_snapshots
from reslab.localcloud.context import cloud_context as runtime
from tests.restore.lab import RestoreLab, SlackServer

MYSQL_ADMIN = "mysql://root@127.0.0.1:3306/mysql"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="session")
def restore_cloud(request: pytest.FixtureRequest) -> Iterator[object]:
    """The shared ``local_cloud`` fixture when the suite has one, else our own."""
    try:
        yield request.getfixturevalue("local_cloud")
        return
    except pytest.FixtureLookupError:
        pass
    from reslab.localcloud import LocalCloud

    with LocalCloud() as cloud:
        yield cloud


@contextmanager
def backing(url: str | None) -> Iterator[None]:
    """Back the instances created inside with ``url`` (None: embedded pgserver per instance)."""
    from reslab.localcloud.dbbacking import DbBacking

    assert runtime.state_dir is not None
    with runtime.lock:
        previous = runtime.services.get("db")
        runtime.services["db"] = DbBacking(url, runtime.state_dir)
    try:
        yield
    finally:
        with runtime.lock:
            mine = runtime.services.pop("db")
            if previous is not None:
                runtime.services["db"] = previous
        mine.shutdown()


@pytest.fixture(scope="session")
def installed_lab(restore_cloud: object) -> RestoreLab:
    """The restore machine, its Lambdas, a report bucket and a VPC: installed once."""
    return RestoreLab(restore_cloud, f"rt{uuid.uuid4().hex[:6]}").install()


def _lab(lab: RestoreLab, url: str | None) -> Iterator[RestoreLab]:
    """The installed lab with DB instances backed by ``url`` for one test module; everything
    the module created is deleted afterwards."""
    with backing(url):
        try:
            yield lab
        finally:
            rds_snapshots.faults.clear()
            leaked = lab.temporary_instances()  # every run must have deleted its own
            rds = lab.client("rds")
            leftovers = [
                db["DBInstanceIdentifier"]
                for db in rds.describe_db_instances()["DBInstances"]
                if db["DBInstanceIdentifier"].startswith((lab.prefix, "verify-" + lab.prefix))
            ]
            for instance_id in leftovers:
                rds.delete_db_instance(DBInstanceIdentifier=instance_id, SkipFinalSnapshot=True)
            for snap in rds.describe_db_snapshots()["DBSnapshots"]:  # drops the data copies
                if snap["DBSnapshotIdentifier"].startswith((lab.prefix, "verify-" + lab.prefix)):
                    rds.delete_db_snapshot(DBSnapshotIdentifier=snap["DBSnapshotIdentifier"])
            assert leaked == [], f"temporary instances leaked: {leaked}"


@pytest.fixture(scope="module")
def pg_lab(installed_lab: RestoreLab) -> Iterator[RestoreLab]:
    """PostgreSQL instances on the real server (fast); embedded pgserver is tested separately."""
    yield from _lab(installed_lab, PG_ADMIN)


@pytest.fixture(scope="module")
def mysql_lab(installed_lab: RestoreLab) -> Iterator[RestoreLab]:
    yield from _lab(installed_lab, MYSQL_ADMIN)


@pytest.fixture(scope="module")
def embedded_lab(installed_lab: RestoreLab) -> Iterator[RestoreLab]:
    yield from _lab(installed_lab, None)


@pytest.fixture
def slack() -> Iterator[SlackServer]:
    with SlackServer().running() as server:
        yield server


@pytest.fixture(autouse=True)
def _clear_faults() -> Iterator[None]:
    yield
    rds_snapshots.faults.clear()


@pytest.fixture(scope="session", autouse=True)
def _zero_leaked_instances(restore_cloud: object) -> Iterator[None]:
    """After the whole restore suite: no instance tagged reslab:temporary=true is left."""
    yield
    rds = restore_cloud.client("rds", "us-east-2")  # type: ignore[attr-defined]
    leaked = [
        db["DBInstanceIdentifier"]
        for db in rds.describe_db_instances()["DBInstances"]
        if {"Key": "reslab:temporary", "Value": "true"} in db.get("TagList", [])
        and db["DBInstanceStatus"] != "deleting"
    ]
    assert leaked == [], f"temporary instances leaked: {leaked}"
