"""Engine consistency checks: amcheck on PostgreSQL, CHECK TABLE on MySQL/MariaDB; amcheck
never changes the database it checks, and a check that could not run is SKIP, not PASS."""

from __future__ import annotations

from typing import Any

from reslab.checks import run_checks
from reslab.dburl import connect, parse_db_url
from reslab.reports import render_html, render_json
from tests.checks.sample import Pair
from tests.checks.test_cli import db_diff

EXPECTED = {
    "postgres": ("consistency.amcheck", "4 of 4 btree indexes OK"),
    "mysql": ("consistency.check_table", "3 of 3 tables OK"),
}

#: What the checks see of a PostgreSQL database's catalog: schemas, extensions, functions,
#: relations, types and dependencies (all of them, not only the user's).
CATALOG_SQL = (
    "SELECT nspname FROM pg_namespace ORDER BY 1",
    "SELECT extname, extversion, extnamespace::regnamespace::text FROM pg_extension ORDER BY 1",
    "SELECT pronamespace::regnamespace::text, proname, pg_get_function_identity_arguments(oid)"
    " FROM pg_proc ORDER BY 1, 2, 3",
    "SELECT relnamespace::regnamespace::text, relname, relkind FROM pg_class ORDER BY 1, 2",
    "SELECT typnamespace::regnamespace::text, typname FROM pg_type ORDER BY 1, 2",
    "SELECT classid::regclass::text, objid, refclassid::regclass::text, refobjid, deptype"
    " FROM pg_depend ORDER BY 1, 2, 3, 4",
)


def catalog(url: str) -> list[list[tuple[Any, ...]]]:
    with connect(url) as conn:
        return [conn.execute(sql).fetchall() for sql in CATALOG_SQL]


def amcheck_of(report) -> Any:
    return next(c for c in report.checks if c.name == "consistency.amcheck")


def test_consistency_check_runs_on_every_index_or_table(pair: Pair) -> None:
    name, measured = EXPECTED[pair.engine]
    check = next(c for c in run_checks(None, pair.target).checks if c.name == name)
    assert (check.status, check.measured, check.details) == ("pass", measured, "")


def test_db_diff_runs_amcheck_and_leaves_the_target_catalog_unchanged(pg_pair: Pair) -> None:
    """amcheck is not installed: db-diff adds it inside a transaction it rolls back."""
    before = catalog(pg_pair.target)
    assert not any(row[0] == "amcheck" for row in before[1])
    result = db_diff(pg_pair.source, pg_pair.target, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"measured": "4 of 4 btree indexes OK"' in result.stdout  # amcheck did run
    assert catalog(pg_pair.target) == before


def test_installed_amcheck_is_used_and_left_installed(pg_pair: Pair) -> None:
    pg_pair.on_target("CREATE SCHEMA tools", "CREATE EXTENSION amcheck SCHEMA tools")
    before = catalog(pg_pair.target)
    check = amcheck_of(run_checks(pg_pair.source, pg_pair.target))
    assert (check.status, check.measured) == ("pass", "4 of 4 btree indexes OK")
    assert catalog(pg_pair.target) == before


def test_amcheck_unavailable_is_a_skip_not_a_pass(pg_pair: Pair) -> None:
    with connect(pg_pair.target) as conn:
        conn.execute("SET ROLE pg_read_all_data")  # may read everything, may not add amcheck
        report = run_checks(pg_pair.source, conn)
    check = amcheck_of(report)
    database = parse_db_url(pg_pair.target).dbname
    assert check.status == "skip" and not check.passed
    assert check.details.startswith(f"amcheck not installed in {database}; install it to enable")
    assert "may not add it" in check.details
    assert report.verdict == "pass", report.failures  # a skip fails nothing...
    assert [c.name for c in report.skipped] == ["consistency.amcheck"]  # ...and is listed
    assert report.target.startswith("postgresql://postgres@")
    data = report.to_dict()
    assert data["skipped"] == ["consistency.amcheck"]
    assert data["summary"]["skipped"] == 1
    assert data["summary"]["passed"] == data["summary"]["total"] - 1
    assert "PASS, 1 check skipped" in render_html(report)
    assert '"status": "skip"' in render_json(report)
