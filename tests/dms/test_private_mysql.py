"""MySQL RDS instances on private binlog servers (``dbbacking.PRIVATE_MYSQL``): each instance its
own server, and a cross-region read replica that really follows its primary, as the local
two-region DMS lab needs (the task reads the replica's binary log)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pymysql
import pytest

from reslab.dburl import DbTarget, connect
from reslab.localcloud import dbbacking
from reslab.localcloud.testing import unique_prefix
from tests.dms.conftest import lab_schema
from tests.dms.test_dms_api import _wait
from tests.dms.writer import scalar, write_hits
from tests.localcloud.instances import create_instance
from webapp.schema import statements

PRIMARY_REGION, REPLICA_REGION = "us-east-2", "us-west-2"


def _login(cloud: Any, db: dict, secret_arn: str) -> DbTarget:
    """The master user (from the primary's managed secret) on ``db``'s own server, reached as
    the operator does (the endpoint name resolves only for callers of the network model)."""
    sm = cloud.client("secretsmanager", PRIMARY_REGION)
    value = json.loads(sm.get_secret_value(SecretId=secret_arn)["SecretString"])
    return _server_of(
        db, DbTarget("mysql", "", 0, value["username"], value["password"], db["DBName"])
    )


def _server_of(db: dict, login: DbTarget) -> DbTarget:
    backing = dbbacking.target_for(db["DBInstanceIdentifier"])
    assert backing is not None, db["DBInstanceIdentifier"]
    return replace(login, host=backing.host, port=backing.port)


def _accounts(db: DbTarget) -> list[tuple[str, str]]:
    with connect(db) as conn, conn.cursor() as cur:
        cur.execute("SELECT user, host FROM mysql.user ORDER BY user, host")
        return [(str(user), str(host)) for user, host in cur.fetchall()]


def _count(db: DbTarget) -> int:
    try:
        with connect(db) as conn:
            return int(scalar(conn, "SELECT count(*) FROM hits"))
    except pymysql.err.MySQLError:  # the table has not replicated yet
        return -1


def test_a_read_replica_follows_its_primary_and_is_read_only_until_promoted(
    local_cloud: Any,
) -> None:
    east = local_cloud.client("rds", PRIMARY_REGION)
    west = local_cloud.client("rds", REPLICA_REGION)
    name = unique_prefix("privmy")
    with dbbacking.switch_backing(dbbacking.PRIVATE_MYSQL):
        primary = create_instance(east, f"{name}-p", "mysql", "admin", DBName="resiliency")
        secret = primary["MasterUserSecret"]["SecretArn"]
        source = _login(local_cloud, primary, secret)
        assert (source.user, source.dbname) == ("admin", "resiliency")  # as the template says
        with connect(source) as conn, conn.cursor() as cur:
            for statement in statements(lab_schema("mysql")):
                cur.execute(statement)
        with connect(source) as conn:
            write_hits(conn, 50)

        west.create_db_instance_read_replica(
            DBInstanceIdentifier=f"{name}-r",
            SourceDBInstanceIdentifier=primary["DBInstanceArn"],
            DBInstanceClass="db.t3.micro",
        )
        [replica] = west.describe_db_instances(DBInstanceIdentifier=f"{name}-r")["DBInstances"]
        on_replica = _login(local_cloud, replica, secret)
        assert on_replica.port != source.port  # its own server
        _wait(lambda: _count(on_replica) == 50, "the replica to copy the primary's rows")
        with connect(source) as conn:  # and it keeps following
            write_hits(conn, 7)
        _wait(lambda: _count(on_replica) == 57, "the replica to apply a later write")

        # the master user cannot write on a replica (no SUPER, as on RDS)
        with connect(on_replica) as conn, pytest.raises(pymysql.err.MySQLError, match="read-only"):
            write_hits(conn, 1)

        # deleting the primary promotes the replica, as AWS does: it takes writes
        east.delete_db_instance(DBInstanceIdentifier=f"{name}-p", SkipFinalSnapshot=True)
        with connect(on_replica) as conn:
            write_hits(conn, 1)
        assert _count(on_replica) == 58
        west.delete_db_instance(DBInstanceIdentifier=f"{name}-r", SkipFinalSnapshot=True)


def test_a_snapshot_of_a_private_server_restores_into_another_with_the_master_login(
    local_cloud: Any,
) -> None:
    """The database stack's final snapshot and the restore check work on these servers too: the
    snapshot is a dump (the source's server goes with its instance), the copy keeps the
    snapshot's master user and password, as on AWS."""
    rds = local_cloud.client("rds", PRIMARY_REGION)
    name = unique_prefix("privsnap")
    with dbbacking.switch_backing(dbbacking.PRIVATE_MYSQL):
        source_db = create_instance(rds, f"{name}-s", "mysql", "admin", DBName="resiliency")
        secret = source_db["MasterUserSecret"]["SecretArn"]
        source = _login(local_cloud, source_db, secret)
        with connect(source) as conn, conn.cursor() as cur:
            for statement in statements(lab_schema("mysql")):
                cur.execute(statement)
        with connect(source) as conn:
            write_hits(conn, 12)
        with connect(source) as conn, conn.cursor() as cur:  # another login, as the DMS user is
            cur.execute("CREATE USER 'reader'@'%' IDENTIFIED BY 'not-the-master'")
            cur.execute("GRANT SELECT ON resiliency.* TO 'reader'@'%'")
        accounts = _accounts(source)
        # deleted with a final snapshot: the data outlives the instance's server
        rds.delete_db_instance(
            DBInstanceIdentifier=f"{name}-s", FinalDBSnapshotIdentifier=f"{name}-final"
        )
        rds.restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier=f"{name}-c",
            DBSnapshotIdentifier=f"{name}-final",
            DBInstanceClass="db.t3.micro",
        )
        [copy] = rds.describe_db_instances(DBInstanceIdentifier=f"{name}-c")["DBInstances"]
        # the snapshot's master user and password (the source's secret went with it)
        on_copy = _server_of(copy, source)
        assert on_copy.port != source.port
        assert _count(on_copy) == 12
        with connect(on_copy) as conn, conn.cursor() as cur:
            cur.execute("SHOW INDEX FROM hits WHERE Key_name = 'hits_hit_time_idx'")
            assert cur.fetchall()  # the schema came whole
        # the snapshot is the whole server's, as an RDS volume snapshot: every login came along
        # (the backup check's security.user_count compares them), with its password and grants
        assert _accounts(on_copy) == accounts
        reader = replace(on_copy, user="reader", password="not-the-master")
        assert _count(reader) == 12
        rds.delete_db_instance(DBInstanceIdentifier=f"{name}-c", SkipFinalSnapshot=True)
        rds.delete_db_snapshot(DBSnapshotIdentifier=f"{name}-final")
