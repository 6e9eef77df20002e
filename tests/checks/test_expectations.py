"""Expectations: required tables, minimum rows, freshness (RPO) and read-only SQL assertions."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest

from reslab.checks import InvalidExpectations, load_expectations, run_checks
from tests.checks.sample import NEWEST_ORDER, Pair

NEWEST = datetime.fromisoformat(NEWEST_ORDER)
FRESH = {"table": "orders", "column": "placed_at", "max_lag_seconds": 3600}


def by_name(report) -> dict:
    return {c.name: c for c in report.checks}


def test_freshness_passes_within_lag_and_fails_beyond(pair: Pair) -> None:
    exp = {"schema_version": 1, "freshness": [FRESH]}
    ok = run_checks(None, pair.target, exp, snapshot_time=NEWEST + timedelta(minutes=30))
    check = by_name(ok)["freshness[orders.placed_at]"]
    assert (check.status, check.measured) == ("pass", 1800.0)
    late = run_checks(None, pair.target, exp, snapshot_time=(NEWEST + timedelta(hours=2)))
    check = by_name(late)["freshness[orders.placed_at]"]
    assert (check.status, check.measured) == ("fail", 7200.0)
    assert {c.name for c in late.failures} == {"freshness[orders.placed_at]"}


def test_freshness_accepts_iso_snapshot_time_and_timestamptz(pair: Pair) -> None:
    exp = {
        "schema_version": 1,
        "freshness": [{"table": "customers", "column": "created_at", "max_lag_seconds": 60}],
    }
    report = run_checks(None, pair.target, exp, snapshot_time="2026-01-01T08:20:30Z")
    check = by_name(report)["freshness[customers.created_at]"]  # newest: 500 minutes in
    assert (check.status, check.measured) == ("pass", 30.0)
    assert report.snapshot_time == "2026-01-01T08:20:30+00:00"


def test_freshness_unknown_table_or_column_fails(pair: Pair) -> None:
    exp = {
        "schema_version": 1,
        "freshness": [
            {"table": "nope", "column": "x", "max_lag_seconds": 1},
            {"table": "orders", "column": "nope", "max_lag_seconds": 1},
        ],
    }
    report = run_checks(None, pair.target, exp, snapshot_time=NEWEST)
    details = {c.name: c.details for c in report.failures}
    assert details == {
        "freshness[nope.x]": "table not found",
        "freshness[orders.nope]": "column not found",
    }


def test_required_table_and_min_rows(pair: Pair) -> None:
    exp = {
        "schema_version": 1,
        "required_tables": ["orders", "invoices"],
        "min_rows": {"orders": 2000, "customers": 501, "invoices": 1},
    }
    report = run_checks(None, pair.target, exp)
    assert {c.name for c in report.failures} == {
        "expect.required_table[invoices]",
        "expect.min_rows[customers]",
        "expect.min_rows[invoices]",
    }
    assert by_name(report)["expect.min_rows[orders]"].passed


def test_assertions_compare_values(pair: Pair) -> None:
    exp = {
        "schema_version": 1,
        "assertions": [
            {"name": "orders", "sql": "SELECT count(*) FROM orders", "expect": 2000},
            {"name": "some", "sql": "SELECT count(*) FROM customers", "expect": {">=": 100}},
            {"name": "too few", "sql": "SELECT count(*) FROM customers", "expect": {">": 500}},
            {
                "name": "text",
                "sql": "SELECT name FROM customers WHERE id = 3",
                "expect": "customer 3",
            },
            {
                "name": "no negatives",
                "sql": "SELECT count(*) FROM orders WHERE amount < 0",
                "expect": 0,
            },
        ],
    }
    report = run_checks(None, pair.target, exp)
    assert {c.name for c in report.failures} == {"assert[too few]"}
    failed = report.failures[0]
    assert (failed.measured, failed.expected) == (500, "> 500")


EVIL = {
    "delete": "DELETE FROM orders",
    "drop": "DROP TABLE orders",
    "multi": "SELECT 1; DROP TABLE orders",
    "create": "CREATE TABLE sneaky (x int)",
}


def test_assertions_run_read_only(pair: Pair) -> None:
    exp = {
        "schema_version": 1,
        "assertions": [{"name": n, "sql": sql, "expect": 0} for n, sql in EVIL.items()],
    }
    report = run_checks(None, pair.target, exp)
    assert {c.name for c in report.failures} == {f"assert[{n}]" for n in EVIL}
    assert all(c.details.startswith("error:") for c in report.failures)
    assert pair.on_target("SELECT count(*) FROM orders") == [(2000,)]
    tables = pair.on_target(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'sneaky'"
    )
    assert tables == [(0,)]
    # the connection is usable (read-write) again after the assertion
    again = run_checks(pair.source, pair.target)
    assert again.verdict == "pass", again.failures


def test_expectation_files_yaml_and_json(tmp_path) -> None:
    yaml_file = tmp_path / "expect.yaml"
    yaml_file.write_text(
        "schema_version: 1\nrequired_tables: [orders]\nmin_rows: {orders: 10}\n"
        "allow_shrink: [sessions]\n"
        "freshness:\n  - {table: orders, column: placed_at, max_lag_seconds: 900}\n"
        "assertions:\n  - name: positive\n    sql: SELECT 1\n    expect: {'>=': 1}\n"
    )
    json_file = tmp_path / "expect.json"
    json_file.write_text(json.dumps({"schema_version": 1, "required_tables": ["orders"]}))
    exp = load_expectations(yaml_file)
    assert exp.required_tables == ("orders",)
    assert exp.min_rows == {"orders": 10}
    assert exp.allow_shrink == frozenset({"sessions"})
    assert exp.freshness[0].max_lag_seconds == 900
    assert (exp.assertions[0].op, exp.assertions[0].value) == (">=", 1)
    assert load_expectations(json_file).required_tables == ("orders",)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "schema_version must be 1"),
        ({"schema_version": 2}, "schema_version must be 1"),
        ({"schema_version": 1, "tables": []}, "unknown key(s): tables"),
        ({"schema_version": 1, "min_rows": {"t": -1}}, "min_rows.t"),
        ({"schema_version": 1, "freshness": [{"table": "t"}]}, "freshness[0].column"),
        ({"schema_version": 1, "assertions": [{"name": "a", "sql": "x"}]}, "expect is missing"),
        (
            {"schema_version": 1, "assertions": [{"name": "a", "sql": "x", "expect": {"~": 1}}]},
            "one {OP: value}",
        ),
    ],
)
def test_invalid_expectations_are_named(data: dict, message: str) -> None:
    with pytest.raises(InvalidExpectations, match=re.escape(message)):
        load_expectations(data)


def test_unreadable_expectations_file(tmp_path) -> None:
    with pytest.raises(InvalidExpectations, match="cannot read"):
        load_expectations(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InvalidExpectations, match="not valid json"):
        load_expectations(bad)
