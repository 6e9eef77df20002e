"""The dms stack in the deploy and teardown handoff (``reslab_lambda.cfn`` with the stack
table's ``replication_task_output``), against the real local cloud: once the stack is complete
the deploy starts its task and reports the stack complete only after the full load; the
teardown stops the task, then deletes the stack."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from reslab.checks import run_checks
from reslab.dburl import DbTarget, connect
from reslab.event import local_event, validate_event
from reslab.localcloud.binlog_server import BinlogServer
from reslab.localcloud.testing import unique_prefix
from reslab_lambda import cfn, replication
from reslab_lambda.errors import ReplicationFailed
from tests.dms.test_dms_api import REGION, _client, _wait
from tests.dms.test_dms_template import dms_stack, hits_statistics
from tests.dms.writer import scalar, write_hits


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
        assert hits_statistics(dms, task)["FullLoadRows"] == 300
        # CDC runs on after the handoff: a row written now reaches the target
        with connect(lab.source) as conn:
            write_hits(conn, 7)
        _wait(lambda: hits_statistics(dms, task).get("Inserts") == 7, "the changes")
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


def _replication_failure(event: dict[str, Any]) -> str | None:
    """The ReplicationFailed message of the create handoff's next status, None while it waits."""
    try:
        cfn.status_of("dms", event, "create")
    except ReplicationFailed as exc:
        return str(exc)
    return None


def test_a_preparation_that_cannot_reach_the_target_ends_the_deploy_named(
    local_cloud: Any, servers: tuple[BinlogServer, BinlogServer], aws_env: None
) -> None:
    """The handoff prepares the target before it starts the task: when the preparation function
    cannot reach the target (its security group rule is gone: the connection hangs until the
    client's timeout, as on AWS), the deploy ends with ReplicationFailed naming the
    preparation and the cause, and the task was never started."""
    prefix = unique_prefix("unprep").replace("-", "").capitalize()
    event = validate_event(
        local_event(
            prefix.lower(),
            {"stack_prefix": prefix, "secondary_region_name": REGION, "engine": "mysql",
             "dms": True},
        )
    )  # fmt: skip
    with dms_stack(local_cloud, servers, f"{prefix}Dms", 5, prepare=False) as lab:
        ec2 = _client(local_cloud, "ec2")
        resources = _client(local_cloud, "cloudformation").describe_stack_resources(
            StackName=f"{prefix}Dms"
        )["StackResources"]
        groups = {r["LogicalResourceId"]: r.get("PhysicalResourceId") for r in resources}
        ec2.revoke_security_group_ingress(
            GroupId=groups["TargetSecurityGroup"],
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 3306,
                    "ToPort": 3306,
                    "UserIdGroupPairs": [{"GroupId": groups["TargetPreparationSecurityGroup"]}],
                }
            ],
        )
        message = _replication_failure(event)
        assert message is not None
        assert "target preparation of stack" in message and "OperationalError" in message
        assert "Can't connect" in message
        dms = _client(local_cloud, "dms")
        [task] = dms.describe_replication_tasks(
            Filters=[
                {"Name": "replication-task-arn", "Values": [lab.outputs["ReplicationTaskArn"]]}
            ]
        )["ReplicationTasks"]
        assert task["Status"] == "ready"  # never started
        # the teardown deletes the stack of a never-started task without stopping anything
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


class Writer(threading.Thread):
    """The web app's writes: one hits row at a time, each acknowledged (committed) id kept."""

    def __init__(self, source: DbTarget) -> None:
        super().__init__(daemon=True)
        self.source, self.acknowledged, self.halt = source, [], threading.Event()

    def run(self) -> None:
        with connect(self.source) as conn:
            while not self.halt.is_set():
                write_hits(conn, 1, "probe")
                self.acknowledged.append(scalar(conn, "SELECT LAST_INSERT_ID()"))
                time.sleep(0.005)


def test_regional_failover_stops_the_task_and_counts_the_rows_it_lost(
    local_cloud: Any, servers: tuple[BinlogServer, BinlogServer], aws_env: None
) -> None:
    """Failing over while the primary still acknowledges writes (the participant did not wait:
    timeout before the task went quiet) loses exactly the rows acknowledged after the stop;
    ``reslab db-rpo`` counts them with db-diff's checksums."""
    from typer.testing import CliRunner

    from reslab.chaos.failover import failover_region
    from reslab.chaos.lab import Lab
    from reslab.cli.app import build_app

    prefix = unique_prefix("fo").replace("-", "").capitalize()
    with dms_stack(local_cloud, servers, f"{prefix}Dms", 100) as lab:
        dms = _client(local_cloud, "dms")
        task = lab.outputs["ReplicationTaskArn"]
        dms.start_replication_task(
            ReplicationTaskArn=task, StartReplicationTaskType="start-replication"
        )
        writer = Writer(lab.source)
        writer.start()
        _wait(lambda: len(writer.acknowledged) > 50, "the first acknowledged writes")
        chaos_lab = Lab(REGION, prefix.lower(), prefix, endpoint_url=local_cloud.endpoint_url)
        result = failover_region(chaos_lab, REGION, quiet_s=5, timeout_s=1.5, poll_s=0.2)
        time.sleep(0.5)  # the primary acknowledges on, into the void
        writer.halt.set()
        writer.join()
        assert not result.drained and result.applied >= 100
        assert (
            dms.describe_replication_tasks(
                Filters=[{"Name": "replication-task-arn", "Values": [task]}]
            )["ReplicationTasks"][0]["Status"]
            == "stopped"
        )

        out = CliRunner().invoke(
            build_app(), ["db-rpo", lab.source.url(), lab.target.url(), "--json"]
        )
        assert out.exit_code == 0, out.output
        rpo = json.loads(out.output)
        with connect(lab.target) as conn:
            replicated = scalar(conn, "SELECT MAX(id) FROM hits")
        lost_writes = [i for i in writer.acknowledged if i > replicated]
        # the RPO is a count, and it is exactly the acknowledged writes the target never got
        assert rpo["lost"] == len(lost_writes) == rpo["primary_rows"] - rpo["target_rows"] > 0
        assert rpo["lost_keys"] == sorted(lost_writes)[: len(rpo["lost_keys"])]
        print(f"RPO: {rpo['lost']} rows ({len(writer.acknowledged)} written by the probe)")
