"""The schema files run on both engines, any number of times."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.webapp.support import query
from webapp.db import connect, parse_db_url
from webapp.schema import ensure_schema, schema_sql, statements

INDEX_SQL = {
    "postgres": "SELECT indexname FROM pg_indexes WHERE tablename = 'hits' ORDER BY indexname",
    "mysql": "SELECT DISTINCT index_name FROM information_schema.statistics "
    "WHERE table_schema = DATABASE() AND table_name = 'hits' ORDER BY index_name",
}


def run_schema(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WEBAPP_DB_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "webapp.schema", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_ensure_schema_twice(db_url: str) -> None:
    target = parse_db_url(db_url)
    conn = connect(target)
    try:
        ensure_schema(conn, target.engine)
        ensure_schema(conn, target.engine)
    finally:
        conn.close()
    indexes = {str(r[0]).lower() for r in query(db_url, INDEX_SQL[target.engine])}
    assert "hits_hit_time_idx" in indexes
    assert query(db_url, "SELECT COUNT(*) FROM hits") == [(0,)]


def test_schema_module_twice(db_url: str) -> None:
    first, second = run_schema(db_url), run_schema(db_url)
    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert "schema ready on " in second.stdout
    assert query(db_url, "SELECT COUNT(*) FROM hits") == [(0,)]


def test_schema_module_without_config_names_the_error() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBAPP_")}
    result = subprocess.run(
        [sys.executable, "-m", "webapp.schema"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("ConfigError: set WEBAPP_DB_URL")


def test_binlog_retention_only_for_mysql(pg_url: str, mysql_url: str) -> None:
    on_pg = run_schema(pg_url, "--binlog-retention-hours", "24")
    assert on_pg.returncode == 0 and "not MySQL, nothing to do" in on_pg.stdout
    # Local MariaDB has no mysql.rds_set_configuration (RDS only): a named, clean failure.
    on_maria = run_schema(mysql_url, "--binlog-retention-hours", "24")
    assert on_maria.returncode == 3
    assert on_maria.stderr.strip().splitlines()[-1].startswith("BinlogRetentionFailed: ")
    assert "Traceback" not in on_maria.stderr


def test_schema_files_split_into_create_statements() -> None:
    for engine in ("postgres", "mysql"):
        parts = statements(schema_sql(engine))
        assert all(p.upper().startswith("CREATE ") and "IF NOT EXISTS" in p.upper() for p in parts)


def test_the_dms_source_user_comes_from_its_secret(mysql_url: str, moto_endpoint: str) -> None:
    """The bootstrap's DMS step (two-region mode): the user and password travel only inside
    the secret; the user gets the replication grants and SELECT on the lab database only."""
    import json
    import uuid

    import boto3

    user, password = f"dms{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    secret = boto3.client("secretsmanager", region_name="us-west-2").create_secret(
        Name=f"dms-{user}", SecretString=json.dumps({"username": user, "password": password})
    )["ARN"]
    try:
        missing = run_schema(mysql_url, "--dms-source-user")
        assert missing.returncode == 2 and "WEBAPP_DMS_SOURCE_SECRET_ARN" in missing.stdout
        os.environ["WEBAPP_DMS_SOURCE_SECRET_ARN"] = secret
        made = run_schema(mysql_url, "--dms-source-user")
        assert made.returncode == 0, made.stderr
        assert f"DMS source user {user} ready" in made.stdout
        assert password not in made.stdout + made.stderr
        grants = " ".join(str(g[0]) for g in query(mysql_url, "SHOW GRANTS FOR %s@'%%'", (user,)))
        # MariaDB shows REPLICATION CLIENT under its newer name, BINLOG MONITOR
        assert "REPLICATION SLAVE" in grants
        assert "REPLICATION CLIENT" in grants or "BINLOG MONITOR" in grants
        database = parse_db_url(mysql_url).dbname
        assert f"GRANT SELECT ON `{database}`.*" in grants
    finally:
        os.environ.pop("WEBAPP_DMS_SOURCE_SECRET_ARN", None)
        query(mysql_url, "DROP USER IF EXISTS %s@'%%'", (user,))
