"""RDS instances are real databases; credentials come from the managed secret."""

from __future__ import annotations

import json

import pytest

from reslab.dburl import DbTarget, connect, parse_db_url
from reslab.localcloud import dbbacking
from reslab.localcloud.testing import unique_prefix
from tests.localcloud.instances import create_instance


def _target_from_secret(local_cloud, region: str, db: dict) -> DbTarget:
    sm = local_cloud.client("secretsmanager", region)
    secret = json.loads(
        sm.get_secret_value(SecretId=db["MasterUserSecret"]["SecretArn"])["SecretString"]
    )
    # the operator's view: the real database behind the endpoint (whose name resolves only
    # for the local cloud's callers, docs/network-model.md)
    backing = dbbacking.target_for(db["DBInstanceIdentifier"])
    assert backing is not None
    return DbTarget(
        engine="postgres" if db["Engine"] == "postgres" else "mysql",
        host=backing.host,
        port=backing.port,
        user=secret["username"],
        password=secret["password"],
        dbname=db["DBName"],
        socket_dir=backing.socket_dir,
    )


def test_api_instance_is_a_real_database(local_cloud):
    rds = local_cloud.client("rds", "us-east-2")
    ident = unique_prefix("db")
    db = create_instance(rds, ident, "postgres", "dbadmin", DBName="labdb")
    target = _target_from_secret(local_cloud, "us-east-2", db)
    assert target.user == "dbadmin"
    assert target.password and target.password != "P@55w0rd!"
    with connect(target) as conn:
        conn.execute("CREATE TABLE t (v int)")
        conn.execute("INSERT INTO t VALUES (%s)", (7,))
        assert conn.execute("SELECT current_user, current_database(), v FROM t").fetchone() == (
            "dbadmin",
            "labdb",
            7,
        )
    rds.delete_db_instance(DBInstanceIdentifier=ident, SkipFinalSnapshot=True)
    assert dbbacking.target_for(ident) is None


def test_switch_backing_puts_instances_on_the_given_server(local_cloud, pg_url):
    rds = local_cloud.client("rds", "us-west-2")
    ident = unique_prefix("pgdb")
    with dbbacking.switch_backing(pg_url):
        db = create_instance(rds, ident, "mysql", "admin")
        assert db["Engine"] == "postgres"  # the backing server's engine wins
        admin = parse_db_url(pg_url)
        backing = dbbacking.target_for(ident)
        assert backing is not None
        assert (backing.host, backing.port) == (admin.host, admin.port)
        assert db["Endpoint"]["Address"] == f"{ident}.aaaaaaaaaa.us-west-2.rds.amazonaws.com"
        target = _target_from_secret(local_cloud, "us-west-2", db)
        with connect(target) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (
                ident.replace("-", "_"),
            )
        rds.delete_db_instance(DBInstanceIdentifier=ident, SkipFinalSnapshot=True)


def _wait_until_connectable(target: DbTarget, seconds: float = 15) -> None:
    import time

    deadline = time.monotonic() + seconds
    while True:
        try:
            connect(target, connect_timeout=2).close()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.parametrize("server", ["embedded", "mysql"])
def test_reboot_and_stop_are_real_outages(local_cloud, server, request):
    url = None if server == "embedded" else request.getfixturevalue("mysql_url")
    rds = local_cloud.client("rds", "us-east-2")
    ident = unique_prefix("out")
    with dbbacking.switch_backing(url):
        db = create_instance(rds, ident, "postgres", "admin1")
        target = _target_from_secret(local_cloud, "us-east-2", db)
        if target.engine == "mysql":
            target = DbTarget(
                "mysql", target.host, target.port, target.user, target.password, target.dbname
            )
        conn = connect(target)
        rds.reboot_db_instance(DBInstanceIdentifier=ident)
        with pytest.raises(Exception):  # the open connection was dropped
            cur = conn.cursor()
            cur.execute("SELECT 1")
            cur.fetchall()
        _wait_until_connectable(target)  # back after the reboot window

        rds.stop_db_instance(DBInstanceIdentifier=ident)
        with pytest.raises(Exception):
            connect(target, connect_timeout=2)
        rds.start_db_instance(DBInstanceIdentifier=ident)
        connect(target).close()
        rds.delete_db_instance(DBInstanceIdentifier=ident, SkipFinalSnapshot=True)


def test_read_replica_accepts_the_primary_credentials(local_cloud, mysql_url):
    rds = local_cloud.client("rds", "us-east-2")
    primary, replica = unique_prefix("pri"), unique_prefix("rep")
    with dbbacking.switch_backing(mysql_url):
        create_instance(rds, primary, "mysql", "admin")
        rds.create_db_instance_read_replica(
            DBInstanceIdentifier=replica, SourceDBInstanceIdentifier=primary
        )
        [pri] = rds.describe_db_instances(DBInstanceIdentifier=primary)["DBInstances"]
        [rep] = rds.describe_db_instances(DBInstanceIdentifier=replica)["DBInstances"]
        creds = _target_from_secret(local_cloud, "us-east-2", pri)
        backing = dbbacking.target_for(replica)
        assert backing is not None
        on_replica = DbTarget(
            "mysql",
            backing.host,
            backing.port,
            creds.user,
            creds.password,
            rep["DBName"],
        )
        rds.delete_db_instance(DBInstanceIdentifier=primary, SkipFinalSnapshot=True)
        conn = connect(on_replica)  # still works: the login outlives the primary's database
        with conn.cursor() as cur:
            cur.execute("SELECT DATABASE()")
            assert cur.fetchone() == (rep["DBName"],)
        conn.close()
        rds.delete_db_instance(DBInstanceIdentifier=replica, SkipFinalSnapshot=True)
    admin = parse_db_url(mysql_url)
    root = connect(admin)
    with root.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM mysql.user WHERE user = %s", (creds.user,))
        assert cur.fetchone() == (0,)
    root.close()
