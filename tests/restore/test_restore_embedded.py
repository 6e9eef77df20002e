"""The default local backing: every RDS instance its own embedded PostgreSQL (pgserver)."""

from __future__ import annotations

from tests.restore.lab import RestoreLab


def test_embedded_postgres_round_trip(embedded_lab: RestoreLab) -> None:
    """The default local backing: every instance its own embedded PostgreSQL server."""
    source = embedded_lab.create_source("emb")
    embedded_lab.seed(source, customers=12)
    result = embedded_lab.run(embedded_lab.event(source, snapshot="new"))
    assert result.status == "SUCCEEDED", result.cause
    report = embedded_lab.report(result.output["checks"]["report"])
    assert report["verdict"] == "pass" and report["comparison"] == "source"
    assert embedded_lab.temporary_instances() == []
