"""The local DMS engine moves real rows: full load, then inserts, updates and deletes through
the MySQL binary log and a PostgreSQL logical slot, with the states and statistics AWS shows."""

from __future__ import annotations

import time

import pytest

from reslab.checks import run_checks
from reslab.dburl import DbTarget, connect
from reslab.localcloud.dms import (
    ReplicationTask,
    TaskSettings,
    TaskStateError,
    parse_table_mappings,
    schema_mappings,
)
from tests.dms.writer import scalar, write_hits

TRUNCATE = TaskSettings(prep_mode="TRUNCATE_BEFORE_LOAD")


@pytest.fixture(params=["mysql", "postgres"])
def pair(request: pytest.FixtureRequest) -> tuple[DbTarget, DbTarget]:
    return request.getfixturevalue(f"{request.param}_pair")


def _task(source: DbTarget, target: DbTarget, **kw: object) -> ReplicationTask:
    schema = source.dbname if source.engine == "mysql" else "public"
    kw.setdefault("settings", TRUNCATE)
    if source.engine == "mysql":
        kw.setdefault("target_schema", target.dbname)
    return ReplicationTask(
        f"t{time.monotonic_ns()}",
        source,
        target,
        parse_table_mappings(schema_mappings(schema, ("hits",))),
        **kw,  # type: ignore[arg-type]
    )


def _stats(task: ReplicationTask) -> dict:
    [row] = task.table_statistics()
    return row


def _diff_failures(source: DbTarget, target: DbTarget) -> list[str]:
    report = run_checks(source.url(), target.url())
    return [c.name for c in report.failures]


def test_full_load_then_changes_reach_the_target(pair):
    source, target = pair
    with connect(source) as conn:
        write_hits(conn, 300)
        task = _task(source, target)
        assert task.status == "ready"
        task.start()
        task.wait_until_loaded(60)
        assert task.status == "running"
        assert _stats(task)["FullLoadRows"] == 300
        assert _stats(task)["TableState"] == "Table completed"
        assert task.task_stats()["FullLoadProgressPercent"] == 100

        write_hits(conn, 25)
        with conn.cursor() as cur:
            cur.execute("UPDATE hits SET client_ip = '198.51.100.1' WHERE id <= 10")
            cur.execute("DELETE FROM hits WHERE id BETWEEN 20 AND 24")
            cur.execute("UPDATE hits SET id = id + 100000 WHERE id = 30")  # the key changes
        task.wait_until_caught_up(60)

    stats = _stats(task)
    assert (stats["Inserts"], stats["Updates"], stats["Deletes"]) == (25, 11, 5)
    assert task.latency() == {"CDCLatencySource": 0.0, "CDCLatencyTarget": 0.0}
    assert _diff_failures(source, target) == []
    with connect(target) as conn:
        assert scalar(conn, "SELECT count(*) FROM hits WHERE id = 100030") == 1
        assert scalar(conn, "SELECT count(*) FROM hits") == 300 + 25 - 5
    task.stop()
    assert (task.status, task.stop_reason) == ("stopped", "Stop Reason NORMAL")


def test_a_stopped_task_resumes_where_the_target_left_off(pair):
    source, target = pair
    task = _task(source, target)
    task.start()
    task.wait_until_loaded(60)
    with connect(source) as conn:
        write_hits(conn, 10)
        task.wait_until_caught_up(60)
        task.stop()
        write_hits(conn, 7)  # written while stopped: read from the saved position
    with connect(target) as conn:
        assert scalar(conn, "SELECT count(*) FROM hits") == 10
    task.start("resume-processing")
    task.wait_until_caught_up(60)
    assert _stats(task)["Inserts"] == 17
    assert _diff_failures(source, target) == []
    task.delete()


def test_a_task_stops_only_when_running_and_starts_only_when_stopped(pair):
    source, target = pair
    task = _task(source, target)
    with pytest.raises(TaskStateError):
        task.stop()
    task.start()
    with pytest.raises(TaskStateError):
        task.start()
    task.wait_until_loaded(60)
    task.stop()
    assert task.status == "stopped"


def test_full_load_only_stops_by_itself(pair):
    source, target = pair
    with connect(source) as conn:
        write_hits(conn, 40)
    task = _task(source, target, migration_type="full-load")
    task.start()
    task.join(60)
    assert (task.status, task.stop_reason) == ("stopped", "Stop Reason FULL_LOAD_ONLY_FINISHED")
    assert _stats(task)["FullLoadRows"] == 40
    assert _diff_failures(source, target) == []


def test_drop_and_create_makes_the_target_table_from_the_source(pair):
    source, target = pair
    with connect(target) as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE hits")
    with connect(source) as conn:
        write_hits(conn, 5)
    task = _task(source, target, settings=TaskSettings(prep_mode="DROP_AND_CREATE"))
    task.start()
    task.wait_until_loaded(60)
    with connect(target) as conn:
        assert scalar(conn, "SELECT count(*) FROM hits") == 5
    task.stop()


def test_the_observer_sees_each_committed_change(pair):
    source, target = pair
    seen: list[tuple[str, float]] = []
    task = _task(
        source, target, observer=lambda changes, at: seen.extend((c.op, at) for c in changes)
    )
    task.start()
    task.wait_until_loaded(60)
    before = time.time()
    with connect(source) as conn:
        write_hits(conn, 12)
    task.wait_until_caught_up(60)
    task.stop()
    assert [op for op, _ in seen] == ["insert"] * 12
    assert all(at >= before for _, at in seen)


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [
        # the machine's MariaDB runs with log_bin OFF, its PostgreSQL with wal_level=replica
        ("mysql_url", "SourceNotReady: the MySQL source has log_bin=0"),
        ("pg_url", "SourceNotReady: the PostgreSQL source has wal_level=replica"),
    ],
)
def test_a_source_that_cannot_feed_cdc_fails_the_task(request, fixture, reason):
    from reslab.dburl import parse_db_url

    db = parse_db_url(request.getfixturevalue(fixture))
    task = _task(db, db)
    task.start()
    task.join(30)
    assert (task.status, task.stop_reason) == ("failed", "Stop Reason FATAL_ERROR")
    assert task.last_failure.startswith(reason)


def test_caught_up_means_every_change_committed_before_the_wait(postgres_pair):
    """An empty poll that began before a commit proves nothing about it, however late its answer
    arrives (a loaded machine): ``wait_until_caught_up`` counts an idle reader only from polls
    that began after the wait did. Here every idle answer reaches the task 0.3 s late, so one is
    always in flight when the rows are written."""
    from reslab.localcloud.dms.model import Idle

    source, target = postgres_pair
    task = _task(source, target)
    changes = task.source.changes

    def late_idle_answers(*args: object) -> object:
        for item in changes(*args):  # type: ignore[arg-type]
            if isinstance(item, Idle):
                time.sleep(0.3)
            yield item

    task.source.changes = late_idle_answers  # type: ignore[method-assign]
    task.start()
    task.wait_until_loaded(60)
    try:
        for written in range(5, 30, 5):
            with connect(source) as conn:
                write_hits(conn, 5)
            task.wait_until_caught_up(60)
            with connect(target) as conn:
                assert scalar(conn, "SELECT count(*) FROM hits") == written
    finally:
        task.delete()
