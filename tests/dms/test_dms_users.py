"""The DMS database users made from a secret: exactly the grants DMS needs, and enough of them
for the engine to replicate with them (source: read the binlog and the tables; target: write)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import replace

import pymysql
import pytest

from reslab.checks import run_checks
from reslab.dburl import connect
from reslab.localcloud.dms import (
    ReplicationTask,
    TaskSettings,
    parse_table_mappings,
    schema_mappings,
)
from tests.dms.writer import write_hits
from webapp.schema import statements
from webapp.schema.dms_user import create_dms_user, dms_user_sql


def _grants(admin, user: str) -> list[str]:
    with connect(admin) as conn, conn.cursor() as cur:
        cur.execute("SHOW GRANTS FOR %s@'%%'", (user,))
        return sorted(row[0].split(" IDENTIFIED")[0] for row in cur.fetchall())


def test_users_get_only_the_dms_grants_and_replicate(mysql_pair):
    source, target = mysql_pair
    source_user, target_user = f"dms_s_{uuid.uuid4().hex[:6]}", f"dms_t_{uuid.uuid4().hex[:6]}"
    # a quote and a backslash in the password: it travels as a bound parameter, never as SQL
    source_pw, target_pw = "p'w\\" + secrets.token_urlsafe(12), secrets.token_urlsafe(16)
    with connect(source) as conn:
        create_dms_user(conn, "source", source_user, source_pw, source.dbname)
        create_dms_user(conn, "source", source_user, source_pw, source.dbname)  # idempotent
        create_dms_user(conn, "target", target_user, target_pw, target.dbname)
        write_hits(conn, 20)

    assert _grants(source, source_user) == [
        f"GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `{source_user}`@`%`",
        f"GRANT SELECT ON `{source.dbname}`.* TO `{source_user}`@`%`",
    ]
    assert _grants(source, target_user) == [
        f"GRANT ALL PRIVILEGES ON `awsdms_control`.* TO `{target_user}`@`%`",
        f"GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER, "
        f"CREATE TEMPORARY TABLES ON `{target.dbname}`.* TO `{target_user}`@`%`",
        f"GRANT USAGE ON *.* TO `{target_user}`@`%`",
    ]
    as_source = replace(source, user=source_user, password=source_pw)
    as_target = replace(target, user=target_user, password=target_pw)
    denied = pytest.raises(pymysql.err.OperationalError, match="denied")
    with connect(as_source) as conn, conn.cursor() as cur, denied:  # read-only on the source
        cur.execute("DELETE FROM hits")
    denied = pytest.raises(pymysql.err.OperationalError, match="denied")
    with connect(as_target) as conn, conn.cursor() as cur, denied:  # only its own database
        cur.execute(f"SELECT count(*) FROM `{source.dbname}`.hits")

    task = ReplicationTask(
        "dms-users",
        as_source,
        as_target,
        parse_table_mappings(schema_mappings(source.dbname, ("hits",))),
        settings=TaskSettings(prep_mode="TRUNCATE_BEFORE_LOAD"),
        target_schema=target.dbname,
    )
    task.start()
    task.wait_until_loaded(60)
    with connect(source) as conn:
        write_hits(conn, 5)
    task.wait_until_caught_up(60)
    task.stop()
    report = run_checks(source.url(), target.url())
    assert [c.name for c in report.checks if c.status != "pass"] == []
    with connect(source) as conn, conn.cursor() as cur:
        for user in (source_user, target_user):
            cur.execute("DROP USER %s@'%%'", (user,))


def test_the_sql_holds_no_name_or_password_and_unknown_roles_are_refused():
    for role in ("source", "target"):
        sql = ";".join(statements(dms_user_sql(role)))
        # the password is only ever read through QUOTE(), then cleared
        assert sql.count("@dms_password") == sql.count("QUOTE(@dms_password)") + 1
        assert "@dms_password = NULL" in sql
    with pytest.raises(ValueError, match="role"):
        dms_user_sql("admin")  # type: ignore[arg-type]


def test_target_preparation_makes_the_schema_and_the_user_and_can_run_again(binlog_server):
    """``webapp.schema.dms_target``: a fresh database gets the lab's schema (its index too) and
    the DMS target user from the secret; a rerun keeps the rows and takes a rotated password."""
    from reslab.dburl import parse_db_url
    from webapp.schema.dms_target import prepare_dms_target

    admin = parse_db_url(binlog_server.admin_url())
    database, user = f"prep_{uuid.uuid4().hex[:8]}", f"dms_t_{uuid.uuid4().hex[:6]}"
    secret = {"username": user, "password": "p'w\\" + secrets.token_urlsafe(12)}
    try:
        prepare_dms_target(admin, database, secret, connect)
        as_target = replace(admin, dbname=database, user=user, password=secret["password"])
        with connect(as_target) as conn:
            write_hits(conn, 3)
        rotated = {**secret, "password": secrets.token_urlsafe(16)}
        prepare_dms_target(admin, database, rotated, connect)
        rotated_login = replace(as_target, password=rotated["password"])
        with connect(rotated_login) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM hits")
            assert cur.fetchone()[0] == 3  # the rerun kept the rows
            cur.execute("SHOW INDEX FROM hits WHERE Key_name = 'hits_hit_time_idx'")
            assert cur.fetchall()
        with pytest.raises(pymysql.err.OperationalError, match="denied"):
            connect(as_target).close()  # the old password no longer works
        with pytest.raises(ValueError, match="not a database name"):
            prepare_dms_target(admin, "x`; DROP DATABASE mysql; --", secret, connect)
    finally:
        with connect(admin) as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
            cur.execute("DROP USER IF EXISTS %s@'%%', %s@'localhost'", (user, user))


def test_the_preparation_function_reads_its_settings_and_secrets(binlog_server):
    """``prepare_from_environment`` (the dms stack's function): the master user from the
    target's managed secret (username and password only, as RDS writes it), host, port and
    database from the environment; nothing secret in what it answers; a missing setting is
    named before anything is touched."""
    from reslab.dburl import parse_db_url
    from webapp.schema.dms_target import ENVIRONMENT, prepare_from_environment

    admin = parse_db_url(binlog_server.admin_url())
    database, user = f"prep_{uuid.uuid4().hex[:8]}", f"dms_t_{uuid.uuid4().hex[:6]}"
    secrets_by_arn = {
        "arn:master": {"username": admin.user, "password": admin.password},
        "arn:user": {"username": user, "password": secrets.token_urlsafe(16)},
    }
    env = {
        "TARGET_MASTER_SECRET_ARN": "arn:master",
        "TARGET_USER_SECRET_ARN": "arn:user",
        "TARGET_HOST": admin.host,
        "TARGET_PORT": str(admin.port),
        "TARGET_DATABASE": database,
    }
    assert set(env) == set(ENVIRONMENT)
    try:
        answer = prepare_from_environment(env, secrets_by_arn.__getitem__, connect)
        assert answer == {
            "database": database,
            "user": user,
            "target": f"{admin.host}:{admin.port}",
        }
        login = replace(
            admin, dbname=database, user=user, password=secrets_by_arn["arn:user"]["password"]
        )
        with connect(login) as conn:
            write_hits(conn, 1)
        with pytest.raises(ValueError, match="TARGET_HOST, TARGET_PORT"):
            prepare_from_environment(
                {k: v for k, v in env.items() if k not in ("TARGET_HOST", "TARGET_PORT")},
                secrets_by_arn.__getitem__,
                connect,
            )
    finally:
        with connect(admin) as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
            cur.execute("DROP USER IF EXISTS %s@'%%', %s@'localhost'", (user, user))
