"""The DMS target's preparation (docs/dms.md, "Target preparation"): before the replication task
starts, the target database holds the lab's schema, made from the very file the source's was
(``mysql.sql``, so ``hits_hit_time_idx`` is there and ``reslab db-diff`` passes; the task only
truncates and loads, ``TRUNCATE_BEFORE_LOAD``), and the ``dms_target`` user with only the grants
DMS needs there (``dms_target_user.mysql.sql``), its name and password from the stack's
``TargetUserSecret``.

Run as the target's master user. Idempotent: a rerun keeps the rows and resets the password
(the secret was rotated). The database name is checked and quoted, the user's name and password
are bound parameters (``create_dms_user``): nothing from a secret is spliced into SQL text.
MySQL only, as the dms stack.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from webapp.db import DbTarget
from webapp.schema import ensure_schema
from webapp.schema.dms_user import create_dms_user

#: What the lab's database name may be (database.yaml / dms.yaml ``DatabaseName``).
_DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
#: The database a master user always reaches before the lab's exists.
_ADMIN_DATABASE = "mysql"

Connect = Callable[[DbTarget], Any]


def prepare_dms_target(
    master: DbTarget, database: str, user_secret: Mapping[str, Any], connect: Connect
) -> None:
    """Create ``database`` if missing, the lab's schema in it, and the DMS target user from
    ``user_secret`` (``username``, ``password``), connected as ``master`` (any ``dbname``)."""
    if master.engine != "mysql":
        raise ValueError("the DMS target is MySQL (docs/dms.md)")
    if not _DATABASE_NAME.match(database):
        raise ValueError(f"not a database name the lab uses: {database!r}")
    conn = connect(replace(master, dbname=_ADMIN_DATABASE))
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    finally:
        conn.close()
    conn = connect(replace(master, dbname=database))
    try:
        ensure_schema(conn, "mysql")
        create_dms_user(
            conn, "target", str(user_secret["username"]), str(user_secret["password"]), database
        )
    finally:
        conn.close()
