"""The lab's DMS reads the read replica: a MariaDB replica (log_slave_updates, as RDS sets it on
a replica with backups) feeds the task what the primary writes."""

from __future__ import annotations

import time

from reslab.checks import run_checks
from reslab.dburl import connect, parse_db_url
from reslab.localcloud.binlog_server import BinlogServer
from reslab.localcloud.dms import (
    ReplicationTask,
    TaskSettings,
    parse_table_mappings,
    schema_mappings,
)
from tests.dms.conftest import lab_schema
from tests.dms.writer import scalar, write_hits
from webapp.schema import statements


def _wait_for_rows(db, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with connect(db) as conn:
                if scalar(conn, "SELECT count(*) FROM hits") == count:
                    return
        except Exception:  # the database may not have replicated yet
            pass
        assert time.monotonic() < deadline, f"the replica never held {count} rows"
        time.sleep(0.1)


def test_a_task_reading_the_replica_sees_the_primarys_writes(tmp_path):
    with (
        BinlogServer(tmp_path / "primary") as primary,
        BinlogServer(tmp_path / "replica") as replica,
        BinlogServer(tmp_path / "target") as target_server,
    ):
        replica.follow(primary)
        source = parse_db_url(primary.create_database("resiliency"))
        target = parse_db_url(target_server.create_database("resiliency"))
        for db in (source, target):
            with connect(db) as conn, conn.cursor() as cur:
                for statement in statements(lab_schema("mysql")):
                    cur.execute(statement)
        with connect(source) as conn:
            write_hits(conn, 100)
        from_replica = parse_db_url(replica.admin_url("resiliency"))
        _wait_for_rows(from_replica, 100)

        task = ReplicationTask(
            "from-replica",
            from_replica,
            target,
            parse_table_mappings(schema_mappings("resiliency", ("hits",))),
            settings=TaskSettings(prep_mode="TRUNCATE_BEFORE_LOAD"),
            target_schema="resiliency",
        )
        task.start()
        task.wait_until_loaded(60)
        with connect(source) as conn:  # written on the PRIMARY
            write_hits(conn, 30)
            with conn.cursor() as cur:
                cur.execute("DELETE FROM hits WHERE id <= 5")
        _wait_for_rows(target, 125)
        task.wait_until_caught_up(60)
        task.stop()
        [stats] = task.table_statistics()
        assert (stats["FullLoadRows"], stats["Inserts"], stats["Deletes"]) == (100, 30, 5)
        report = run_checks(source.url(), target.url())
        assert [c.name for c in report.checks if c.status != "pass"] == []
