"""Full executions of the restore machine in the local cloud, on PostgreSQL and MariaDB."""

from __future__ import annotations

import json

from tests.restore.lab import RestoreLab, SlackServer

EXPECT = {
    "schema_version": 1,
    "required_tables": ["customers", "orders"],
    "min_rows": {"customers": 40, "orders": 80},
    "assertions": [
        {
            "name": "no negative totals",
            "sql": "SELECT count(*) FROM orders WHERE total < 0",
            "expect": 0,
        },
    ],
}


def _webhook(lab: RestoreLab, slack: SlackServer) -> str:
    name = f"/{lab.prefix}/slack-webhook-{len(slack.posts)}-{id(slack)}"
    ssm = lab.client("ssm")
    ssm.put_parameter(Name=name, Value=slack.url, Type="SecureString", Overwrite=True)
    # the notify Lambda reads parameters carrying the install's workshop tag (or its own one)
    ssm.add_tags_to_resource(
        ResourceType="Parameter",
        ResourceId=name,
        Tags=[{"Key": "workshop", "Value": "restore-tests"}],
    )
    return name


def full_run_passes(lab: RestoreLab, engine: str, slack: SlackServer) -> None:
    source = lab.create_source("ok", engine)
    lab.seed(source)
    result = lab.run(
        lab.event(
            source,
            snapshot="new",
            expectations=EXPECT,
            slack_webhook_parameter=_webhook(lab, slack),
        )
    )
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    out = result.output
    assert out["checks"]["verdict"] == "pass"
    report = lab.report(out["checks"]["report"])
    assert report["verdict"] == "pass"
    assert report["comparison"] == "source"
    assert out["finish"]["cleanup"]["deleted"][0] == out["run"]["temp_instance"]
    assert lab.temporary_instances() == []
    assert len(slack.posts) == 1 and "passed" in slack.posts[0]["text"]
    assert slack.url not in str(result.history)  # the webhook URL never enters the history
    # the copy got its own RDS-managed secret (a rotated source secret cannot break the run)
    assert out["run"]["restore_credentials"] == "managed"
    assert out["poll"]["endpoint"]["secret_arn"] not in ("", out["run"]["secret"]["name"])
    password = lab.target(source).password
    assert password not in str(result.history) and password not in json.dumps(report)


def test_full_run_passes_postgres(pg_lab: RestoreLab, slack: SlackServer) -> None:
    full_run_passes(pg_lab, "postgres", slack)
