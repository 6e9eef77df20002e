"""The access log and the per-role report: needed, redundant and unused statements."""

from __future__ import annotations

from pathlib import Path

from reslab.iam.accesslog import AccessLog, render, usage
from reslab.iam.context import Environment, build_operation
from reslab.iam.evaluate import Principal
from reslab.iam.policy import Policy
from reslab.iam.state import PrincipalPolicies, Where

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/lab-BackupPollRole"
ENV = Environment(Where(ACCOUNT, "us-east-2"))
POLICY = Policy.parse(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Poll",
                "Effect": "Allow",
                "Action": "rds:DescribeDBInstances",
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Action": ["rds:DescribeDBSnapshots", "rds:DescribeDBInstances"],
                "Resource": "*",
            },
            {"Effect": "Allow", "Action": ["rds:DeleteDBInstance"], "Resource": "*"},
        ],
    },
    name="inline least-privilege",
)


def run(log: AccessLog, operation: str, params: dict) -> None:
    service, api = operation.split(".")
    who = Principal.session(ROLE, "backup_poll")
    for built in build_operation(service, api, params, who, ENV, PrincipalPolicies((POLICY,))):
        log.record(built.request, built.decide(PrincipalPolicies((POLICY,))), operation)


def test_report_tells_needed_redundant_and_unused(tmp_path: Path) -> None:
    log = AccessLog()
    run(log, "rds.DescribeDBSnapshots", {"DBSnapshotIdentifier": "s"})
    run(log, "rds.DescribeDBInstances", {"DBInstanceIdentifier": "db"})
    run(log, "rds.RebootDBInstance", {"DBInstanceIdentifier": "db"})
    path = tmp_path / "access.jsonl"
    log.save(path)
    loaded = AccessLog.load(path)
    assert loaded.entries() == log.entries()

    (role,) = usage(loaded.entries(), {ROLE: [POLICY]})
    verdicts = [(s.ref.index, s.verdict, s.requests) for s in role.statements]
    # DescribeDBInstances is allowed by #0 and #1: neither alone is needed for it;
    # #1 is the only one allowing DescribeDBSnapshots: needed.
    assert verdicts == [(0, "redundant", 1), (1, "needed", 2), (2, "unused", 0)]
    assert role.used == ("rds:DescribeDBInstances", "rds:DescribeDBSnapshots")
    assert role.granted == (
        "rds:DeleteDBInstance",
        "rds:DescribeDBInstances",
        "rds:DescribeDBSnapshots",
    )
    assert [(e.action, e.allowed) for e in role.denied] == [("rds:RebootDBInstance", False)]
    text = "\n".join(render([role]))
    assert "lab-BackupPollRole: 2 action(s) used of 3 granted" in text
    assert "unused grant rds:DeleteDBInstance" in text
    assert (
        "DENIED    rds:RebootDBInstance on arn:aws:rds:us-east-2:123456789012:db:db "
        "(rds.RebootDBInstance): because no identity-based policy allows the "
        "rds:RebootDBInstance action"
    ) in text
