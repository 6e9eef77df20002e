"""``reslab verify-backup`` and ``reslab reports`` as real processes against the local cloud."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
    # a secret the install's roles may not read: with IAM enforced, AWS does not say whether it
    # exists (the role may describe only RDS-managed secrets)
    expected = (
        "ClientError: An error occurred (AccessDeniedException) when calling the DescribeSecret"
        if pg_lab.cloud.iam
        else "SecretNotFound: "
    )
    assert bad.stderr.strip().splitlines()[-1].startswith(expected), bad.stderr

    listed = _cli(
        pg_lab, "reports", "--instance", source, "--report-bucket", pg_lab.bucket, "--json"
    )
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [r["verdict"] for r in rows] == ["pass"]
    assert rows[0]["instance"] == source


def test_schedule_starts_the_machine_daily(pg_lab: RestoreLab) -> None:
    """The installer stack's schedule: daily at 03:00 UTC, the restore machine on the latest
    snapshot of the install's lab (its stack prefix, region and workshop)."""
    got = pg_lab.client("scheduler").get_schedule(
        Name=f"{pg_lab.prefix}-verify-backup", GroupName=pg_lab.prefix
    )
    assert got["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert got["State"] == "ENABLED"
    assert got["Target"]["Arn"] == pg_lab.machine_arn
    assert json.loads(got["Target"]["Input"]) == {
        "stack_prefix": pg_lab.stack_prefix,
        "region_name": REGION,
        "workshop": "restore-tests",
        "snapshot": "latest",
    }


def test_cleanup_role_may_delete_only_temporary_things(pg_lab: RestoreLab) -> None:
    import ast

    iam = pg_lab.client("iam")
    policy = iam.get_role_policy(
        RoleName=pg_lab.resource("BackupCleanupRole"), PolicyName="least-privilege"
    )["PolicyDocument"]
    # moto 5.2.5 answers the inline policy of a role CloudFormation created as a Python repr,
    # not JSON (AWS: URL-encoded JSON, which boto3 decodes into a dict): read it either way.
    doc = policy if isinstance(policy, dict) else ast.literal_eval(policy)
    deleting = [s for s in doc["Statement"] if "rds:DeleteDBInstance" in s["Action"]]
    assert deleting and all(
        s["Condition"]["StringEquals"]["aws:ResourceTag/reslab:temporary"] == "true"
        for s in deleting
    )


def test_local_default_is_a_new_snapshot_and_an_empty_latest_is_named(
    pg_lab: RestoreLab, tmp_path: Path
) -> None:
    """Locally the only "latest" snapshot is the automatic one taken when the instance was
    created (empty): the default is a fresh snapshot, and checking the empty one says why it
    failed and what to run, in one line."""
    source = pg_lab.create_source("predata")
    pg_lab.seed(source, customers=5)
    machine = pg_lab.machine_arn.rsplit(":", 1)[-1]
    common = ("--instance", source, "--report-bucket", pg_lab.bucket, "--state-machine", machine)
    default = _cli(pg_lab, "verify-backup", *common, "--json")
    assert default.returncode == 0, default.stderr
    assert json.loads(default.stdout)["snapshot"].endswith("-src")  # taken by this run

    empty = _cli(pg_lab, "verify-backup", *common, "--snapshot", "latest")
    assert empty.returncode == 1
    last = empty.stderr.strip().splitlines()[-1]
    assert last.startswith("SnapshotPredatesData: snapshot "), empty.stderr
    assert "holds no data" in last and "rows in " in last and "--snapshot new" in last
    assert "Traceback" not in empty.stderr

    # the report bucket is private: the failed run's HTML report, fetched by the CLI
    fetch = ("reports", "--instance", source, "--report-bucket", pg_lab.bucket, "--out")
    got = _cli(pg_lab, *fetch, str(tmp_path), "--download", "latest")
    assert got.returncode == 0, got.stderr
    page = Path(got.stdout.strip()).read_text()
    assert page.lstrip().lower().startswith("<!doctype html") and source in page
    missing = _cli(pg_lab, *fetch, str(tmp_path), "--download", "19990101T000000Z")
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines()[-1].startswith("ReportNotFound: ")
