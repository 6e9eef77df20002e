"""MySQL RDS instances on private binlog servers (``dbbacking.PRIVATE_MYSQL``): each instance its
own server, and a cross-region read replica that really follows its primary, as the local
two-region DMS lab needs (the task reads the replica's binary log)."""

from __future__ import annotations

import json
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
    """The master user (from the primary's managed secret) at ``db``'s endpoint."""
    sm = cloud.client("secretsmanager", PRIMARY_REGION)
    value = json.loads(sm.get_secret_value(SecretId=secret_arn)["SecretString"])
    address, port = db["Endpoint"]["Address"], db["Endpoint"]["Port"]
    return DbTarget("mysql", address, port, value["username"], value["password"], db["DBName"])


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
