"""The AWS DMS database users, made from their secrets (docs/dms.md, "The DMS users").

``create_dms_user(conn, "source", user, password, "resiliency")`` runs
``dms_user_login.mysql.sql`` then ``dms_source_user.mysql.sql`` (REPLICATION CLIENT,
REPLICATION SLAVE, SELECT on the lab's database): the bootstrap's step on the primary, with the
DMS source secret. ``"target"`` runs ``dms_target_user.mysql.sql`` instead (write the lab's
tables, DMS's ``awsdms_control``) on the target. Idempotent: a second run sets the password
again (a rotated secret) and re-grants. The name, password and database travel as bound
parameters into session variables, never into SQL text. MySQL/MariaDB only: the lab's DMS
stack replicates MySQL (PostgreSQL: docs/dms.md).
"""

from __future__ import annotations

from importlib import resources
from typing import Any, Literal

from webapp.schema import statements

Role = Literal["source", "target"]
ROLES: tuple[Role, ...] = ("source", "target")


def dms_user_sql(role: Role) -> str:
    """The whole script for ``role``: the login (shared), then the role's grants."""
    if role not in ROLES:
        raise ValueError(f"DMS user role must be one of {ROLES}, not {role!r}")
    files = resources.files(__package__)
    return "\n".join(
        files.joinpath(name).read_text(encoding="utf-8")
        for name in ("dms_user_login.mysql.sql", f"dms_{role}_user.mysql.sql")
    )


def create_dms_user(conn: Any, role: Role, user: str, password: str, database: str) -> None:
    """Create (or update) the DMS user of ``role`` with only the grants DMS needs there."""
    sql = dms_user_sql(role)
    if not user or not password or not database:
        raise ValueError("the DMS user needs a user name, a password and a database")
    with conn.cursor() as cur:
        cur.execute(
            "SET @dms_user = %s, @dms_password = %s, @dms_database = %s",
            (user, password, database),
        )
        try:
            for statement in statements(sql):
                cur.execute(statement)
        finally:
            cur.execute("SET @dms_user = NULL, @dms_password = NULL, @dms_sql = NULL")
    if not getattr(conn, "get_autocommit", lambda: True)():
        conn.commit()
