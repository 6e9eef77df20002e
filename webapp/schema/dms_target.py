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


#: The preparation function's settings (dms.yaml ``TargetPreparationFunction``'s environment):
#: the target's master secret (RDS-managed: username and password only), the DMS target user's
#: secret, where the target listens and the lab database's name.
ENVIRONMENT = (
    "TARGET_MASTER_SECRET_ARN",
    "TARGET_USER_SECRET_ARN",
    "TARGET_HOST",
    "TARGET_PORT",
    "TARGET_DATABASE",
)
SecretValue = Callable[[str], Mapping[str, Any]]


def prepare_from_environment(
    env: Mapping[str, str], secret_value: SecretValue, connect: Connect
) -> dict[str, str]:
    """:func:`prepare_dms_target` with the settings of :data:`ENVIRONMENT` and the two secrets
    read through ``secret_value`` (ARN -> the secret's JSON); returns what was prepared (no
    secret in it)."""
    missing = [name for name in ENVIRONMENT if not env.get(name)]
    if missing:
        raise ValueError(f"the target preparation needs {', '.join(missing)}")
    master_secret = secret_value(env["TARGET_MASTER_SECRET_ARN"])
    master = DbTarget(
        engine="mysql",
        host=env["TARGET_HOST"],
        port=int(env["TARGET_PORT"]),
        user=str(master_secret["username"]),
        password=str(master_secret["password"]),
    )
    user_secret = secret_value(env["TARGET_USER_SECRET_ARN"])
    prepare_dms_target(master, env["TARGET_DATABASE"], user_secret, connect)
    return {
        "database": env["TARGET_DATABASE"],
        "user": str(user_secret["username"]),
        "target": f"{master.host}:{master.port}",
    }
