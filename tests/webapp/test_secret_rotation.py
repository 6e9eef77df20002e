"""The Secrets Manager secret rotates (RDS-managed master secrets do, every 7 days): the app
re-reads it when a new connection is refused, instead of failing until restarted."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import boto3
import pytest
import requests

from tests.webapp.support import create_schema, query, serve
from webapp.config import load_settings
from webapp.db import connect, parse_db_url

REGION = "us-east-2"


@pytest.fixture
def mysql_user(mysql_url: str) -> Iterator[str]:
    """A MariaDB user with a password (root has none) and rights on the test database."""
    target = parse_db_url(mysql_url)
    user = f"rot_{uuid.uuid4().hex[:8]}"
    admin = connect(target)
    with admin.cursor() as cur:
        cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (user, "first-password"))
        cur.execute(f"GRANT ALL ON `{target.dbname}`.* TO %s@'%%'", (user,))
    try:
        yield user
    finally:
        with admin.cursor() as cur:
            cur.execute("DROP USER IF EXISTS %s@'%%'", (user,))
        admin.close()


def kill_sessions(url: str, user: str) -> int:
    ids = query(url, "SELECT id FROM information_schema.processlist WHERE user = %s", (user,))
    for (session_id,) in ids:
        query(url, f"KILL CONNECTION {int(session_id)}")  # type: ignore[call-overload]
    return len(ids)


def test_rotated_password_is_reread(mysql_url: str, mysql_user: str, moto_endpoint: str) -> None:
    create_schema(mysql_url)
    target = parse_db_url(mysql_url)
    secrets = boto3.client("secretsmanager", region_name=REGION)
    arn = secrets.create_secret(
        Name=f"rds!{mysql_user}",
        SecretString=json.dumps({"username": mysql_user, "password": "first-password"}),
    )["ARN"]
    env = {
        "WEBAPP_DB_SECRET_ARN": arn,
        "WEBAPP_DB_HOST": target.host,
        "WEBAPP_DB_PORT": str(target.port),
        "WEBAPP_DB_NAME": target.dbname,
        "WEBAPP_DB_ENGINE": "mysql",
        "WEBAPP_INSTANCE_ID": "i-rot",
        "WEBAPP_AZ": "az-rot",
    }
    with serve(load_settings(env)) as base:  # fragile mode: no buffering to hide a failure
        before = requests.get(base + "/", timeout=10)
        query(mysql_url, "ALTER USER %s@'%%' IDENTIFIED BY %s", (mysql_user, "second-password"))
        secrets.put_secret_value(
            SecretId=arn,
            SecretString=json.dumps({"username": mysql_user, "password": "second-password"}),
        )
        assert kill_sessions(mysql_url, mysql_user) >= 1  # the pooled connection dies
        after = requests.get(base + "/", timeout=10)
    assert (before.status_code, after.status_code) == (200, 200)
    assert query(mysql_url, "SELECT COUNT(*) FROM hits") == [(2,)]
