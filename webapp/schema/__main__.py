"""``python -m webapp.schema``: create the hits table on the configured database.

Reads the same environment as the app (``WEBAPP_DB_URL``, or ``WEBAPP_DB_SECRET_ARN`` with
``WEBAPP_DB_HOST/PORT/NAME/ENGINE``), so no password is ever passed on a command line.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time

from webapp.config import db_target
from webapp.db import ConfigError, DbTarget, connect
from webapp.schema import ensure_schema, set_binlog_retention


def _connect_with_retry(target: DbTarget, wait_seconds: float) -> object:
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return connect(target)
        except Exception as exc:
            if time.monotonic() >= deadline:
                raise
            print(f"waiting for {target.redacted()}: {exc}", file=sys.stderr)
            time.sleep(5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m webapp.schema", description=__doc__)
    parser.add_argument(
        "--wait", type=float, default=0, help="keep retrying the connection this many seconds"
    )
    parser.add_argument(
        "--binlog-retention-hours",
        type=int,
        default=None,
        help="MySQL on RDS: also CALL mysql.rds_set_configuration (for AWS DMS)",
    )
    parser.add_argument(
        "--dms-source-user",
        action="store_true",
        help="MySQL: create the AWS DMS source user from the secret WEBAPP_DMS_SOURCE_SECRET_ARN",
    )
    args = parser.parse_args(argv)
    try:
        target = db_target(os.environ)
    except ConfigError as exc:
        print(f"ConfigError: {exc}", file=sys.stderr)
        return 2
    conn = _connect_with_retry(target, args.wait)
    try:
        ensure_schema(conn, target.engine)
        print(f"schema ready on {target.redacted()}")
        if args.binlog_retention_hours is not None:
            if target.engine != "mysql":
                print("binlog retention: not MySQL, nothing to do")
            else:
                try:
                    set_binlog_retention(conn, args.binlog_retention_hours)
                except Exception as exc:
                    print(f"BinlogRetentionFailed: {exc}", file=sys.stderr)
                    return 3
                print(f"binlog retention set to {args.binlog_retention_hours} hours")
        if args.dms_source_user:
            return _dms_source_user(conn, target)
    finally:
        with contextlib.suppress(Exception):
            conn.close()  # type: ignore[attr-defined]
    return 0


def _dms_source_user(conn: object, target: DbTarget) -> int:
    """The DMS source user (only the grants DMS needs) from its secret: user and password never
    pass through the command line or the environment, only the secret's ARN."""
    from webapp.config import read_secret
    from webapp.schema.dms_user import create_dms_user

    arn = os.environ.get("WEBAPP_DMS_SOURCE_SECRET_ARN", "")
    if not arn or target.engine != "mysql":
        print("ConfigError: --dms-source-user needs MySQL and WEBAPP_DMS_SOURCE_SECRET_ARN")
        return 2
    user, password = read_secret(arn)
    try:
        create_dms_user(conn, "source", user, password, target.dbname)
    except Exception as exc:
        print(f"DmsUserFailed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 3
    print(f"DMS source user {user} ready on {target.redacted()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
