"""Corruption caught by the checks, a fault at each step, plaintext refusal, snapshot isolation.

Every failing run must still delete its temporary instance and attempt the notification, and
end FAILED with the failing step's error name.
"""

from __future__ import annotations

import json

import pytest

from reslab.localcloud.compat import rds_snapshots
from tests.restore.lab import RestoreLab, SlackServer


@pytest.fixture(scope="module")
def seeded(pg_lab: RestoreLab) -> dict[str, str]:
    """One seeded source instance with a manual snapshot, shared by the tests below."""
    source = pg_lab.create_source("src")
    pg_lab.seed(source)
    return {"source": source, "snapshot": pg_lab.snapshot(source, "base")}


def _webhook(lab: RestoreLab, slack: SlackServer) -> str:
    name = f"/{lab.prefix}/slack/{slack.url.rsplit(':', 1)[-1].split('/')[0]}"
    ssm = lab.client("ssm")
    ssm.put_parameter(Name=name, Value=slack.url, Type="SecureString", Overwrite=True)
    # the notify Lambda reads parameters carrying the install's workshop tag (or its own one)
    ssm.add_tags_to_resource(
        ResourceType="Parameter",
        ResourceId=name,
        Tags=[{"Key": "workshop", "Value": "restore-tests"}],
    )
    return name


def _assert_failed_cleanly(lab: RestoreLab, result, error: str, slack: SlackServer) -> None:
    assert result.status == "FAILED"
    assert result.error == error, result.cause
    assert "Delete temporary instance" in result.entered()
    assert lab.temporary_instances() == []
    assert slack.posts, "the notification was not attempted"
    assert "FAILED" in slack.posts[-1]["text"]


CORRUPTIONS = {
    "delete rows": ("DELETE FROM orders WHERE id <= 5", "data.row_count[orders]"),
    "alter a value": (
        "UPDATE customers SET name = 'tampered' WHERE id = 3",
        "data.checksum[customers]",
    ),
    "drop a table": ("DROP TABLE orders", "schema.tables"),
    "drop an index": ("DROP INDEX orders_customer", "schema.indexes[orders]"),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_corruption_is_caught(
    corruption: str, pg_lab: RestoreLab, seeded: dict[str, str], slack: SlackServer
) -> None:
    sql, failing_check = CORRUPTIONS[corruption]
    # the source fingerprint is taken just before the fresh snapshot: compare against it
    result = pg_lab.run(
        pg_lab.event(
            seeded["source"],
            snapshot="new",
            test_hook_sql=sql,
            slack_webhook_parameter=_webhook(pg_lab, slack),
        )
    )
    _assert_failed_cleanly(pg_lab, result, "ChecksFailed", slack)
    message = json.loads(result.cause)["errorMessage"]
    assert failing_check in message
    report = pg_lab.report(message.rsplit("report: ", 1)[1])
    failed = {c["name"] for c in report["checks"] if c["status"] == "fail"}
    assert failing_check in failed


def test_rows_written_after_the_snapshot_are_not_restored(
    pg_lab: RestoreLab, seeded: dict[str, str], slack: SlackServer
) -> None:
    source = pg_lab.create_source("later")
    pg_lab.seed(source, customers=10)
    snap = pg_lab.snapshot(source, "before")
    pg_lab.sql(source, "INSERT INTO customers (name, email) VALUES ('late', 'late@example.com')")
    expectations = {
        "schema_version": 1,
        "assertions": [
            {
                "name": "no late row",
                "sql": "SELECT count(*) FROM customers WHERE name = 'late'",
                "expect": 0,
            },
            {"name": "ten customers", "sql": "SELECT count(*) FROM customers", "expect": 10},
        ],
    }
    result = pg_lab.run(pg_lab.event(source, snapshot=snap, expectations=expectations))
    assert result.status == "SUCCEEDED", result.cause
    assert pg_lab.sql(source, "SELECT count(*) FROM customers") == [(11,)]


def test_latest_picks_the_newest_snapshot(pg_lab: RestoreLab, seeded: dict[str, str]) -> None:
    result = pg_lab.run(pg_lab.event(seeded["source"], snapshot="latest"))
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["snapshot_info"]["id"] == seeded["snapshot"]


def test_restore_refused(pg_lab: RestoreLab, seeded: dict[str, str], slack: SlackServer) -> None:
    rds_snapshots.faults.refuse_restore("verify-*")
    result = pg_lab.run(
        pg_lab.event(
            seeded["source"],
            snapshot=seeded["snapshot"],
            slack_webhook_parameter=_webhook(pg_lab, slack),
        )
    )
    _assert_failed_cleanly(pg_lab, result, "RestoreFailed", slack)


def test_instance_never_available(
    pg_lab: RestoreLab, seeded: dict[str, str], slack: SlackServer
) -> None:
    rds_snapshots.faults.hold_status("verify-*", "creating")
    result = pg_lab.run(
        pg_lab.event(
            seeded["source"],
            snapshot=seeded["snapshot"],
            deadline_seconds=3,
            slack_webhook_parameter=_webhook(pg_lab, slack),
        )
    )
    _assert_failed_cleanly(pg_lab, result, "RestoreTimeout", slack)
    assert "Check instance" in result.entered()


def test_invalid_expectations_refused_up_front(pg_lab: RestoreLab, seeded: dict[str, str]) -> None:
    bad = {"schema_version": 1, "min_rows": {"orders": "many"}}
    result = pg_lab.run(pg_lab.event(seeded["source"], expectations=bad))
    assert result.error == "InvalidRestoreEvent", result.cause
    assert "Restore" not in result.entered()


def test_secret_missing(pg_lab: RestoreLab, seeded: dict[str, str], slack: SlackServer) -> None:
    result = pg_lab.run(
        pg_lab.event(
            seeded["source"],
            secret_id="no/such/secret",
            slack_webhook_parameter=_webhook(pg_lab, slack),
        )
    )
    # with IAM enforced AWS does not tell a secret the role may not read from a missing one
    _assert_failed_cleanly(
        pg_lab, result, "ClientError" if pg_lab.cloud.iam else "SecretNotFound", slack
    )


def test_sql_error(pg_lab: RestoreLab, seeded: dict[str, str], slack: SlackServer) -> None:
    result = pg_lab.run(
        pg_lab.event(
            seeded["source"],
            snapshot=seeded["snapshot"],
            test_hook_sql="SELEC broken",
            slack_webhook_parameter=_webhook(pg_lab, slack),
        )
    )
    _assert_failed_cleanly(pg_lab, result, "CheckQueryFailed", slack)


def test_report_write_refused(
    pg_lab: RestoreLab, seeded: dict[str, str], slack: SlackServer
) -> None:
    event = pg_lab.event(
        seeded["source"],
        snapshot=seeded["snapshot"],
        slack_webhook_parameter=_webhook(pg_lab, slack),
    )
    event["report_bucket"] = f"{pg_lab.prefix}-no-such-bucket"
    result = pg_lab.run(event)
    _assert_failed_cleanly(pg_lab, result, "ReportWriteFailed", slack)


def test_slack_500_does_not_block_cleanup(
    pg_lab: RestoreLab, seeded: dict[str, str], slack: SlackServer
) -> None:
    slack.status = 500
    result = pg_lab.run(
        pg_lab.event(
            seeded["source"],
            snapshot=seeded["snapshot"],
            slack_webhook_parameter=_webhook(pg_lab, slack),
        )
    )
    assert result.status == "FAILED"
    assert result.error == "NotificationFailed"
    assert len(slack.posts) == 4  # retried with backoff
    assert result.output == {} and lab_clean(pg_lab)


def lab_clean(lab: RestoreLab) -> bool:
    return lab.temporary_instances() == []


@pytest.mark.parametrize("key", ["password", "db_passwd", "PWD", "secret_value"])
def test_plaintext_password_refused(key: str, pg_lab: RestoreLab, seeded: dict[str, str]) -> None:
    result = pg_lab.run(pg_lab.event(seeded["source"], **{key: "hunter2"}))
    assert result.status == "FAILED"
    assert result.error == "PlaintextSecretRefused"
    message = json.loads(result.cause)["errorMessage"]
    assert "execution history" in message and "secret_id" in message
    assert "hunter2" not in result.cause
    assert "Restore" not in result.entered()


@pytest.fixture(scope="module")
def lab_stacks(pg_lab: RestoreLab, seeded: dict[str, str]) -> str:
    """Database and Storage stacks whose outputs name the seeded instance and the bucket, named
    as the lab names them (``<StackPrefix>Database``): the install's roles may read only the
    stacks of its own ``StackPrefix`` (``stack/<StackPrefix>*``)."""
    cfn = pg_lab.client("cloudformation")
    prefix = pg_lab.stack_prefix
    outputs = {
        "Database": ("DBInstanceIdentifier", seeded["source"]),
        "Storage": ("ReportBucketName", pg_lab.bucket),
    }
    for suffix, (key, value) in outputs.items():
        body = {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {key: {"Value": value}},
        }
        cfn.create_stack(StackName=f"{prefix}{suffix}", TemplateBody=json.dumps(body))
        cfn.get_waiter("stack_create_complete").wait(
            StackName=f"{prefix}{suffix}", WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
    return prefix


def test_instance_and_bucket_from_stack_outputs(
    pg_lab: RestoreLab, seeded: dict[str, str], lab_stacks: str
) -> None:
    """What the deploy machine's nested execution sends: only the stack prefix."""
    event = pg_lab.event(seeded["source"], snapshot=seeded["snapshot"], stack_prefix=lab_stacks)
    del event["instance"], event["report_bucket"]
    result = pg_lab.run(event)
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["run"]["instance"] == seeded["source"]


@pytest.mark.parametrize("skip", [False, True])
def test_nested_from_a_parent_machine(pg_lab: RestoreLab, lab_stacks: str, skip: bool) -> None:
    from reslab.machines.asl import render
    from reslab.machines.restore import RESTORE_MACHINE_PLACEHOLDER, nested_verification

    states = nested_verification("Deployed", "Deploy failed")
    states["Deployed"] = {"Type": "Succeed"}
    states["Deploy failed"] = {"Type": "Fail", "ErrorPath": "$.error.Error"}
    text = json.dumps({"StartAt": "Verify backups?", "States": states})
    sfn = pg_lab.client("stepfunctions")
    # the role the installer gives the deploy machine, the parent of the restore machine
    role = pg_lab.client("iam").get_role(RoleName=pg_lab.resource("DeployMachineRole"))["Role"]
    parent = sfn.create_state_machine(
        name=f"{pg_lab.prefix}-parent-{skip}",
        definition=render(text, {RESTORE_MACHINE_PLACEHOLDER: pg_lab.machine_arn}),
        roleArn=role["Arn"],
    )["stateMachineArn"]
    event = {
        "stack_prefix": lab_stacks,
        "region_name": "us-east-2",
        # the install's workshop, as the deploy machine sends it: the snapshot the check takes
        # is tagged with it, and the snapshot role may tag only with its install's workshop
        "workshop": "restore-tests",
        "poll_seconds": 0,
        "skip_backup_check": skip,
    }
    result = pg_lab.run({"event": event}, machine_arn=parent)
    assert result.status == "SUCCEEDED", result.cause
    assert ("backup_check" in result.output) is not skip
    if not skip:
        assert result.output["backup_check"]["status"] == "SUCCEEDED"
