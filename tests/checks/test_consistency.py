"""Engine consistency checks: amcheck on PostgreSQL, CHECK TABLE on MySQL/MariaDB."""

from __future__ import annotations

from reslab.checks import run_checks
from reslab.dburl import connect
from tests.checks.sample import Pair

EXPECTED = {
    "postgres": ("consistency.amcheck", "4 of 4 btree indexes OK"),
    "mysql": ("consistency.check_table", "3 of 3 tables OK"),
}


def test_consistency_check_runs_on_every_index_or_table(pair: Pair) -> None:
    name, measured = EXPECTED[pair.engine]
    check = next(c for c in run_checks(None, pair.target).checks if c.name == name)
    assert (check.status, check.measured, check.details) == ("pass", measured, "")


def test_amcheck_unavailable_is_a_pass_with_a_note(pg_pair: Pair) -> None:
    with connect(pg_pair.target) as conn:
        conn.execute("SET ROLE pg_read_all_data")  # may read everything, may not CREATE EXTENSION
        report = run_checks(pg_pair.source, conn)
    check = next(c for c in report.checks if c.name == "consistency.amcheck")
    assert check.status == "pass"
    assert check.details.startswith("skipped: amcheck not available")
    assert report.verdict == "pass", report.failures
    assert report.target.startswith("postgresql://postgres@")
