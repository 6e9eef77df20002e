"""Identical copies pass; each kind of corruption fails exactly the check that names it."""

from __future__ import annotations

import importlib
import json

import pytest

from reslab.checks import Fingerprint, fingerprint, run_checks
from reslab.checks.chunks import split
from tests.checks.sample import ODD_TABLE, Pair


def failing(report) -> set[str]:
    return {c.name for c in report.failures}


def test_identical_copies_pass(pair: Pair) -> None:
    report = run_checks(pair.source, pair.target)
    assert report.verdict == "pass", [c for c in report.failures]
    names = {c.name for c in report.checks}
    for table in ("customers", "orders", ODD_TABLE):
        for kind in ("schema.columns", "schema.indexes", "data.row_count", "data.checksum"):
            assert f"{kind}[{table}]" in names
    assert {"engine.version", "schema.table_count", "security.user_count", "schema.tables"} <= names
    by_name = {c.name: c for c in report.checks}
    assert by_name["data.row_count[orders]"].measured == 2000
    assert by_name["schema.table_count"].measured == 3
    assert report.comparison == "source"


def test_deleted_rows_fail_row_count_and_checksum(pair: Pair) -> None:
    pair.on_target("DELETE FROM orders WHERE id IN (7, 8, 9)")
    report = run_checks(pair.source, pair.target)
    assert failing(report) == {"data.row_count[orders]", "data.checksum[orders]"}
    row_count = next(c for c in report.checks if c.name == "data.row_count[orders]")
    assert (row_count.measured, row_count.expected) == (1997, 2000)


def test_altered_value_fails_checksum_only(pair: Pair) -> None:
    pair.on_target("UPDATE orders SET amount = amount + 0.01 WHERE id = 42")
    assert failing(run_checks(pair.source, pair.target)) == {"data.checksum[orders]"}


def test_null_and_empty_string_differ(pair: Pair) -> None:
    pair.on_target("UPDATE customers SET note = '' WHERE id = 5")  # was NULL
    assert failing(run_checks(pair.source, pair.target)) == {"data.checksum[customers]"}


def test_swapped_values_between_rows_fail_checksum(pair: Pair) -> None:
    pair.on_target(
        "UPDATE orders SET customer_id = CASE id WHEN 1 THEN 3 ELSE 2 END WHERE id IN (1, 2)"
    )
    assert failing(run_checks(pair.source, pair.target)) == {"data.checksum[orders]"}


def test_dropped_table_fails_tables_and_count(pair: Pair) -> None:
    pair.on_target("DROP TABLE customers")
    report = run_checks(pair.source, pair.target)
    assert failing(report) == {"schema.tables", "schema.table_count"}
    tables = next(c for c in report.checks if c.name == "schema.tables")
    assert "missing: customers" in tables.details


def test_dropped_index_fails_indexes(pair: Pair) -> None:
    statement = {
        "postgres": "DROP INDEX orders_customer_idx",
        "mysql": "DROP INDEX orders_customer_idx ON orders",
    }[pair.engine]
    pair.on_target(statement)
    report = run_checks(pair.source, pair.target)
    assert failing(report) == {"schema.indexes[orders]"}
    assert "orders_customer_idx" in report.failures[0].details


def test_added_column_fails_columns_and_checksum(pair: Pair) -> None:
    pair.on_target("ALTER TABLE orders ADD COLUMN extra integer")
    report = run_checks(pair.source, pair.target)
    assert failing(report) == {"schema.columns[orders]", "data.checksum[orders]"}
    checksum = next(c for c in report.checks if c.name == "data.checksum[orders]")
    assert checksum.details == "columns differ, and the checksum covers whole rows"


def test_fingerprint_round_trips_through_json(pair: Pair) -> None:
    fp = fingerprint(pair.source)
    again = Fingerprint.from_dict(json.loads(json.dumps(fp.to_dict())))
    assert again == fp
    measured = run_checks(None, pair.target).target_fingerprint
    assert measured is not None
    summary = {k: (t.columns, t.indexes, t.rows, t.checksum) for k, t in fp.tables.items()}
    assert {k: (t.columns, t.indexes, t.rows, t.checksum) for k, t in measured.tables.items()} == (
        summary
    )
    assert run_checks(again, pair.target).verdict == "pass"
    assert run_checks(fp.to_dict(), pair.target).verdict == "pass"


def test_previous_fingerprint_shrink_fails_unless_allowed(pair: Pair) -> None:
    previous = fingerprint(pair.source)
    pair.on_target("DELETE FROM orders WHERE id <= 10", "DROP TABLE customers")
    report = run_checks(None, pair.target, previous=previous)
    assert report.comparison == "previous"
    assert failing(report) == {
        "data.not_shrunk[orders]",
        "data.not_shrunk[customers]",
        "schema.table_count",
    }
    allowed = {"schema_version": 1, "allow_shrink": ["orders", "customers"]}
    report = run_checks(None, pair.target, allowed, previous=previous.to_dict())
    assert report.verdict == "pass", report.failures
    details = {c.name: c.details for c in report.checks}
    assert details["data.not_shrunk[customers]"] == "vanished (allowed)"


def test_previous_fingerprint_allows_growth(pair: Pair) -> None:
    previous = fingerprint(pair.source)
    pair.on_target("INSERT INTO orders VALUES (9001, 1, 1.00, '2026-02-01 00:00:00')")
    assert run_checks(None, pair.target, previous=previous).verdict == "pass"


def test_no_baseline_records_the_seed_values(pair: Pair) -> None:
    report = run_checks(None, pair.target)
    seed = {c.name: c for c in report.checks if c.details == "recorded"}
    assert set(seed) == {"engine.version", "schema.table_count", "security.user_count"}
    assert seed["schema.table_count"].measured == 3
    assert seed["security.user_count"].measured >= 1


def test_types_without_hash_function_fall_back_to_text_checksum(pair: Pair) -> None:
    fp = fingerprint(pair.source)
    algorithms = {key: t.algorithm for key, t in fp.tables.items()}
    if pair.engine == "postgres":  # json has no hash function: md5 of the row text instead
        assert algorithms == {
            "customers": "pg-colhash64mix-sum",
            "orders": "pg-colhash64mix-sum",
            ODD_TABLE: "pg-md5text64-sum",
        }
    else:
        assert set(algorithms.values()) == {"mysql-crc32mix-sum"}
    odd = pair.q(ODD_TABLE)
    pair.on_target(f"UPDATE {odd} SET payload = '{{\"a\": 2}}' WHERE reslab_row = 1")
    assert failing(run_checks(fp, pair.target)) == {f"data.checksum[{ODD_TABLE}]"}


def test_parallel_key_ranges_add_up_to_the_whole_table(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = importlib.import_module("reslab.checks.fingerprint")  # the package re-exports
    monkeypatch.setattr(module, "MIN_SPAN", 10)  # a function of the same name
    whole = fingerprint(pair.source)
    ranged = fingerprint(pair.source, workers=3)
    assert ranged.tables == whole.tables
    pair.on_target("DELETE FROM orders WHERE id = 1999")
    report = run_checks(ranged, pair.target)
    assert failing(report) == {"data.row_count[orders]", "data.checksum[orders]"}


def test_split_covers_the_range_exactly() -> None:
    assert split(1, 10, 3) == [(1, 4), (5, 8), (9, 10)]
    assert split(5, 5, 4) == [(5, 5)]
    assert split(-3, 4, 2) == [(-3, 0), (1, 4)]


def test_user_count_compared_across_servers(pair: Pair) -> None:
    source = fingerprint(pair.source).to_dict()
    # same server: the roles are shared, so comparing them proves nothing (and other suites
    # create roles on these servers concurrently): recorded only
    same = next(c for c in run_checks(source, pair.target).checks if c.name.startswith("secu"))
    assert same.passed and same.details.startswith("recorded: same server")
    # a source on another server with one role more
    other = {**source, "server_id": "elsewhere", "user_count": source["user_count"] + 1}
    report = run_checks(other, pair.target)
    assert failing(report) == {"security.user_count"}
    check = report.failures[0]
    assert (check.measured, check.expected) == (source["user_count"], source["user_count"] + 1)
    previous = run_checks(None, pair.target, previous=other)
    assert failing(previous) == {"security.user_count"}
