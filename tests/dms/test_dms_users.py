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
