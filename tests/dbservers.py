"""Fresh, throw-away databases on the machine's real PostgreSQL and MariaDB servers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pymysql

PG_ADMIN_URL = os.environ.get("RESLAB_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MYSQL_HOST = os.environ.get("RESLAB_TEST_MYSQL_HOST", "127.0.0.1")
MYSQL_PORT = int(os.environ.get("RESLAB_TEST_MYSQL_PORT", "3306"))
MYSQL_USER = os.environ.get("RESLAB_TEST_MYSQL_USER", "root")


def _unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@contextmanager
def fresh_postgres(prefix: str = "reslab") -> Iterator[str]:
    """Create an empty PostgreSQL database, yield its URL, drop it afterwards."""
    name = _unique_name(prefix)
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_mysql(prefix: str = "reslab") -> Iterator[str]:
    """Create an empty MariaDB/MySQL database, yield its URL, drop it afterwards."""
    name = _unique_name(prefix)
    conn = pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user=MYSQL_USER, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
        yield f"mysql://{MYSQL_USER}@{MYSQL_HOST}:{MYSQL_PORT}/{name}"
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()
