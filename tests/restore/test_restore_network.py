"""The backup check reaches the database only as AWS would route it (docs/network-model.md):
from the lab VPC's private subnets, with a group the database's group admits. The correctly
wired lab is every other test of this directory (``RestoreLab.attach_checks``)."""

from __future__ import annotations

from tests.restore.lab import REGION, RestoreLab, network_notes, outside_the_vpc


def test_check_lambdas_outside_the_vpc_cannot_reach_the_database(pg_lab: RestoreLab) -> None:
    source = pg_lab.create_source("novpc")
    pg_lab.seed(source, customers=3)
    with outside_the_vpc(pg_lab):
        result = pg_lab.run(pg_lab.event(source, snapshot="new"))
    assert result.status == "FAILED"
    assert "timeout" in (result.cause or "").lower(), result.cause  # as on AWS: a connect timeout
    notes = network_notes(pg_lab)
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
    notes = network_notes(mysql_lab)
    assert f"refused at security-group-ingress ({mysql_lab.security_group})" in notes, notes
    assert mysql_lab.temporary_instances() == []
