"""The backup check reaches the database only as AWS would route it (docs/network-model.md):
from the lab VPC's private subnets, with a group the database's group admits. The correctly
wired lab is every other test of this directory (``RestoreLab.attach_checks``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.restore.lab import REGION, RestoreLab

DATABASE_FUNCTIONS = ("backup_snapshot", "backup_checks")


def _network_notes(lab: RestoreLab) -> str:
    """What the local cloud wrote to the check Lambdas' logs about refused connections."""
    logs = lab.client("logs")
    notes = []
    for folder in DATABASE_FUNCTIONS:
        group = f"/aws/lambda/{lab.prefix}-{folder}"
        for page in logs.get_paginator("filter_log_events").paginate(
            logGroupName=group, filterPattern="local cloud network"
        ):
            notes += [e["message"] for e in page["events"]]
    return "\n".join(notes)


@contextmanager
def _outside_the_vpc(lab: RestoreLab) -> Iterator[None]:
    lam = lab.client("lambda")
    saved = {}
    for folder in DATABASE_FUNCTIONS:
        name = f"{lab.prefix}-{folder}"
        config = lam.get_function_configuration(FunctionName=name)["VpcConfig"]
        saved[name] = {k: config[k] for k in ("SubnetIds", "SecurityGroupIds")}
        lam.update_function_configuration(
            FunctionName=name, VpcConfig={"SubnetIds": [], "SecurityGroupIds": []}
        )
    try:
        yield
    finally:
        for name, config in saved.items():
            lam.update_function_configuration(FunctionName=name, VpcConfig=config)


def test_check_lambdas_outside_the_vpc_cannot_reach_the_database(pg_lab: RestoreLab) -> None:
    source = pg_lab.create_source("novpc")
    pg_lab.seed(source, customers=3)
    with _outside_the_vpc(pg_lab):
        result = pg_lab.run(pg_lab.event(source, snapshot="new"))
    assert result.status == "FAILED"
    assert "timeout" in (result.cause or "").lower(), result.cause  # as on AWS: a connect timeout
    notes = _network_notes(pg_lab)
    assert f"{source}.aaaaaaaaaa.{REGION}.rds.amazonaws.com" in notes, notes
    assert "refused at publicly-accessible" in notes, notes  # the hop, named in the log
    assert pg_lab.temporary_instances() == []


def test_database_group_not_admitting_the_checks(mysql_lab: RestoreLab) -> None:
    source = mysql_lab.create_source("nosg", engine="mysql")
    mysql_lab.seed(source, customers=3)
    mysql_lab.allow_checks(mysql_lab.check_group, allowed=False)
    try:
        result = mysql_lab.run(mysql_lab.event(source, snapshot="new"))
    finally:
        mysql_lab.allow_checks(mysql_lab.check_group)
    assert result.status == "FAILED"
    notes = _network_notes(mysql_lab)
    assert f"refused at security-group-ingress ({mysql_lab.security_group})" in notes, notes
    assert mysql_lab.temporary_instances() == []
