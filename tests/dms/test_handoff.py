"""The dms stack in the deploy and teardown handoff (``reslab_lambda.cfn`` with the stack
table's ``replication_task_output``), against the real local cloud: once the stack is complete
the deploy starts its task and reports the stack complete only after the full load; the
teardown stops the task, then deletes the stack."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from reslab.checks import run_checks
from reslab.dburl import connect
from reslab.event import local_event, validate_event
from reslab.localcloud.binlog_server import BinlogServer
from reslab.localcloud.testing import unique_prefix
from reslab_lambda import cfn, replication
from tests.dms.test_dms_api import REGION, _client, _wait
from tests.dms.test_dms_template import dms_stack
from tests.dms.writer import write_hits


@pytest.fixture
def servers(tmp_path) -> Iterator[tuple[BinlogServer, BinlogServer]]:
    with BinlogServer(tmp_path / "a") as source, BinlogServer(tmp_path / "b") as target:
        yield source, target


@pytest.fixture
def aws_env(local_cloud: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Lambdas' boto3 (reslab_lambda.aws) pointed at the local cloud."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_cloud.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def test_the_handoff_starts_the_task_waits_for_the_full_load_and_stops_it_before_deleting(
    local_cloud: Any, servers: tuple[BinlogServer, BinlogServer], aws_env: None
) -> None:
    prefix = unique_prefix("hand").replace("-", "").capitalize()
    event = validate_event(
        local_event(
            prefix.lower(),
            {"stack_prefix": prefix, "secondary_region_name": REGION, "engine": "mysql",
             "dms": True},
        )
    )  # fmt: skip
    with dms_stack(local_cloud, servers, f"{prefix}Dms", 300) as lab:
        first = cfn.status_of("dms", event, "create")
        assert first == cfn.entry(f"{prefix}Dms", replication.FULL_LOAD, REGION)
        done = _wait(
            lambda: (e := cfn.status_of("dms", event, "create"))["status"] in cfn.COMPLETE and e,
            "the full load through the handoff",
        )
        assert done["status"] == "CREATE_COMPLETE"
        dms = _client(local_cloud, "dms")
        task = lab.outputs["ReplicationTaskArn"]
        stats = dms.describe_table_statistics(ReplicationTaskArn=task)["TableStatistics"]
        assert stats[0]["FullLoadRows"] == 300
        # CDC runs on after the handoff: a row written now reaches the target
        with connect(lab.source) as conn:
            write_hits(conn, 7)
        _wait(
            lambda: (
                dms.describe_table_statistics(ReplicationTaskArn=task)["TableStatistics"][0][
                    "Inserts"
                ]
                == 7
            ),
            "the changes",
        )
        report = run_checks(lab.source.url(), lab.target.url())
        assert [c.name for c in report.checks if c.status != "pass"] == []

        # teardown: the task is stopped first, only then is the stack deleted
        assert cfn.start_delete("dms", event)["status"] == replication.STOPPING
        [described] = dms.describe_replication_tasks(
            Filters=[{"Name": "replication-task-arn", "Values": [task]}]
        )["ReplicationTasks"]
        assert described["Status"] == "stopped"
        assert cfn.status_of("dms", event, "delete")["status"] == replication.STOPPED
        assert cfn.start_delete("dms", event)["status"] in ("DELETE_IN_PROGRESS", cfn.GONE)
        _wait(
            lambda: cfn.status_of("dms", event, "delete")["status"] == cfn.GONE,
            "the stack's deletion",
        )


def test_sweep_stops_the_running_task_and_leaves_nothing_of_the_dms_stack(
    local_cloud: Any, servers: tuple[BinlogServer, BinlogServer], aws_env: None
) -> None:
    from reslab import sweep

    name = unique_prefix("sweepdms").replace("-", "")
    with dms_stack(local_cloud, servers, name, 10) as lab:
        task = lab.outputs["ReplicationTaskArn"]
        dms = _client(local_cloud, "dms")
        dms.start_replication_task(
            ReplicationTaskArn=task, StartReplicationTaskType="start-replication"
        )
        found = {f.kind for f in sweep.find(local_cloud.client, name, [REGION])}
        assert {"stack", "dms-task", "dms-endpoint", "dms-replication-instance"} <= found
        assert "dms-subnet-group" in found
        report = sweep.delete(local_cloud.client, name, [REGION], lambda _: None, poll=0.2)
        assert report.failures == []
        assert sweep.find(local_cloud.client, name, [REGION]) == []
        left = dms.describe_replication_tasks()["ReplicationTasks"]
        assert task not in {t["ReplicationTaskArn"] for t in left}
