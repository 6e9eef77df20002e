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
    finally:
        with contextlib.suppress(Exception):
            conn.close()  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    sys.exit(main())
