"""The ``hits`` table: ``ensure_schema(conn, engine)`` runs ``<engine>.sql`` (idempotent)."""

from __future__ import annotations

from importlib import resources
from typing import Any

from webapp.db import Engine

# RDS MySQL only: keep binlogs long enough for AWS DMS (the classic lab's bootstrap did this).
BINLOG_RETENTION_SQL = "CALL mysql.rds_set_configuration('binlog retention hours', %s)"


def schema_sql(engine: Engine) -> str:
    return resources.files(__name__).joinpath(f"{engine}.sql").read_text(encoding="utf-8")


def statements(sql: str) -> list[str]:
    """Split a schema file on ``;`` (the files hold no ``;`` inside statements)."""
    lines = [line.split("--", 1)[0] for line in sql.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def ensure_schema(conn: Any, engine: Engine) -> None:
    """Create the ``hits`` table and its index if missing; safe to run repeatedly."""
    with conn.cursor() as cur:
        for statement in statements(schema_sql(engine)):
            cur.execute(statement)
    if not getattr(conn, "autocommit", True):
        conn.commit()


def set_binlog_retention(conn: Any, hours: int) -> None:
    """``CALL mysql.rds_set_configuration('binlog retention hours', N)`` (RDS MySQL only)."""
    with conn.cursor() as cur:
        cur.execute(BINLOG_RETENTION_SQL, (int(hours),))
