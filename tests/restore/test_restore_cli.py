"""``reslab verify-backup`` and ``reslab reports`` as real processes against the local cloud."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.restore.lab import REGION, RestoreLab


def _cli(lab: RestoreLab, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "reslab",
            *args,
            "--endpoint-url",
            lab.cloud.endpoint_url,
            "--region",
            REGION,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_verify_backup_pass_then_fail_and_reports(pg_lab: RestoreLab) -> None:
    source = pg_lab.create_source("cli")
    pg_lab.seed(source, customers=5)
    machine = pg_lab.machine_arn.rsplit(":", 1)[-1]
    ok = _cli(
        pg_lab,
        "verify-backup",
        "--instance",
        source,
        "--snapshot",
        "new",
        "--report-bucket",
        pg_lab.bucket,
        "--state-machine",
        machine,
        "--json",
    )
    assert ok.returncode == 0, ok.stderr
    result = json.loads(ok.stdout)
    assert result["status"] == "SUCCEEDED" and result["report"].startswith("s3://")

    bad = _cli(
        pg_lab,
        "verify-backup",
        "--instance",
        source,
        "--secret-id",
        "missing/secret",
        "--report-bucket",
        pg_lab.bucket,
        "--state-machine",
        machine,
    )
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines()[-1].startswith("SecretNotFound: ")

    listed = _cli(
        pg_lab, "reports", "--instance", source, "--report-bucket", pg_lab.bucket, "--json"
    )
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [r["verdict"] for r in rows] == ["pass"]
    assert rows[0]["instance"] == source


def test_schedule_starts_the_machine_daily(pg_lab: RestoreLab) -> None:
    from reslab.restore.install import ensure_schedule

    clients = lambda service, region: pg_lab.cloud.client(service, region)  # noqa: E731
    event = {"stack_prefix": "Resiliency", "snapshot": "latest"}
    arn = ensure_schedule(
        clients,
        pg_lab.prefix,
        REGION,
        "restore-tests",
        pg_lab.machine_arn,
        "cron(0 3 * * ? *)",
        event,
    )
    again = ensure_schedule(
        clients,
        pg_lab.prefix,
        REGION,
        "restore-tests",
        pg_lab.machine_arn,
        "cron(0 4 * * ? *)",
        event,
    )  # idempotent: updates in place
    assert arn == again
    got = pg_lab.client("scheduler").get_schedule(
        Name=f"{pg_lab.prefix}-verify-backup", GroupName=pg_lab.prefix
    )
    assert got["ScheduleExpression"] == "cron(0 4 * * ? *)"
    assert got["Target"]["Arn"] == pg_lab.machine_arn
    assert json.loads(got["Target"]["Input"]) == event


def test_cleanup_role_may_delete_only_temporary_things(pg_lab: RestoreLab) -> None:
    import json as _json

    iam = pg_lab.client("iam")
    policy = iam.get_role_policy(
        RoleName=f"{pg_lab.prefix}-backup_cleanup", PolicyName=f"{pg_lab.prefix}-backup_cleanup"
    )["PolicyDocument"]
    doc = policy if isinstance(policy, dict) else _json.loads(policy)
    deleting = [s for s in doc["Statement"] if "rds:DeleteDBInstance" in s["Action"]]
    assert deleting and all(
        s["Condition"]["StringEquals"]["aws:ResourceTag/reslab:temporary"] == "true"
        for s in deleting
    )
