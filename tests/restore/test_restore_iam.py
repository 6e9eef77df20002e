"""IAM enforced in a real restore run: a role missing one statement fails the execution with the
named AccessDenied, and ``reslab local iam-report`` shows the grants used beside the denial."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from typer.testing import CliRunner

from reslab.cli.app import build_app
from reslab.localcloud import iam_report
from tests.restore.lab import RestoreLab


def test_a_statement_removed_from_a_lambda_role_fails_the_run_with_access_denied(
    pg_lab: RestoreLab, tmp_path: Path
) -> None:
    source = pg_lab.create_source("iam")
    iam = pg_lab.client("iam")
    role = pg_lab.resource("BackupSnapshotRole")
    raw = iam.get_role_policy(RoleName=role, PolicyName="least-privilege")["PolicyDocument"]
    # moto answers a CloudFormation role's inline policy as a Python literal, not JSON
    document = ast.literal_eval(raw) if isinstance(raw, str) else raw
    kept = [s for s in document["Statement"] if "rds:CreateDBSnapshot" not in s["Action"]]
    assert len(kept) == len(document["Statement"]) - 1
    iam.put_role_policy(
        RoleName=role,
        PolicyName="least-privilege",
        PolicyDocument=json.dumps({**document, "Statement": kept}),
    )
    try:
        with pg_lab.cloud.enforcing_iam():
            result = pg_lab.run(pg_lab.event(source, snapshot="new"))
            iam_report.save(pg_lab.cloud.access_log, tmp_path)
    finally:
        iam.put_role_policy(
            RoleName=role, PolicyName="least-privilege", PolicyDocument=json.dumps(document)
        )

    assert result.status == "FAILED", (result.error, result.cause)
    assert "(AccessDenied) when calling the CreateDBSnapshot operation" in result.cause
    assert (
        f"User: arn:aws:sts::123456789012:assumed-role/{role}/{pg_lab.prefix}-backup_snapshot "
        "is not authorized to perform: rds:CreateDBSnapshot on resource: "
        f"arn:aws:rds:us-east-2:123456789012:db:{source}"
    ) in result.cause
    assert pg_lab.temporary_instances() == []

    report = CliRunner().invoke(build_app(), ["local", "iam-report", "--dir", str(tmp_path)])
    assert report.exit_code == 0, report.output
    lines = report.output.splitlines()
    mine = lines.index(next(line for line in lines if line.startswith(f"{role}: ")))
    section = lines[
        mine : next(
            (i for i in range(mine + 1, len(lines)) if not lines[i].startswith(" ")), len(lines)
        )
    ]
    assert any(line.strip().startswith("needed") for line in section), section
    assert any("DENIED    rds:CreateDBSnapshot" in line for line in section), section
