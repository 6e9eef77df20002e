"""The check catalogue is the one list of checks: the code emits exactly its rows, on the engines
and in the runs each row says, and docs/checks.md's table is generated from it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from reslab import REPO_ROOT
from reslab.checks import catalogue, fingerprint, run_checks
from reslab.checks.catalogue import (
    APPLIES,
    BY_ID,
    CATALOGUE,
    ENGINES,
    ROW_COUNT,
    CheckSpec,
    spec_for,
)
from reslab.checks.model import CheckReport
from reslab.reports import catalogue_doc
from reslab.reports.explain import explain
from tests.checks.sample import NEWEST_ORDER, Pair

#: Expectations that ask for every kind of expectation check once.
EVERY_EXPECTATION = {
    "schema_version": 1,
    "required_tables": ["orders"],
    "min_rows": {"orders": 1},
    "freshness": [{"table": "orders", "column": "placed_at", "max_lag_seconds": 3600}],
    "assertions": [{"name": "some orders", "sql": "SELECT count(*) FROM orders", "expect": 2000}],
}
LIBRARY = ("reslab/checks", "reslab/reports")


def expected_ids(engine: str, *applies: str) -> set[str]:
    """What the catalogue says a run on ``engine`` reports, for the kinds of run given."""
    return {s.id for s in CATALOGUE if engine in s.engines and s.applies in applies}


def reported_ids(report: CheckReport) -> set[str]:
    ids = set()
    for result in report.checks:
        spec = spec_for(result.name)
        assert spec is not None, f"{result.name} is in no catalogue row"
        assert result.category == spec.category, result
        ids.add(spec.id)
    return ids


def test_docs_table_is_generated_from_the_catalogue() -> None:
    assert not catalogue_doc.is_stale(), f"run: {catalogue_doc.COMMAND}"
    doc = catalogue_doc.CHECKS_DOC.read_text(encoding="utf-8")
    for spec in CATALOGUE:
        assert f"| `{spec.pattern}` | {spec.category} |" in doc


def test_a_stale_docs_table_is_detected(tmp_path: Path) -> None:
    doc = catalogue_doc.CHECKS_DOC.read_text(encoding="utf-8")
    edited = tmp_path / "checks.md"
    edited.write_text(doc.replace("`data.checksum[T]`", "`data.checksum`"), encoding="utf-8")
    assert catalogue_doc.is_stale(edited)
    edited.write_text(catalogue_doc.with_catalogue(edited.read_text(encoding="utf-8")), "utf-8")
    assert not catalogue_doc.is_stale(edited)


def test_rows_are_complete_and_unique() -> None:
    assert len(BY_ID) == len(CATALOGUE)
    assert set(ENGINES) == {"postgres", "mysql"}  # the engines the pair fixture runs on
    defined = [v for v in vars(catalogue).values() if isinstance(v, CheckSpec)]
    assert defined == list(CATALOGUE), "every row defined in catalogue.py is in CATALOGUE"
    for spec in CATALOGUE:
        assert "[" not in spec.id and spec.applies in APPLIES, spec
        assert spec.engines and set(spec.engines) <= set(ENGINES), spec
        assert spec.description.endswith(".") and "\n" not in spec.description, spec


def test_a_name_needs_the_subject_its_row_declares() -> None:
    assert BY_ID["data.row_count"].name("orders") == "data.row_count[orders]"
    assert spec_for("data.row_count[odd [name]]") is BY_ID["data.row_count"]
    assert spec_for("no.such.check") is None
    with pytest.raises(ValueError):
        BY_ID["data.row_count"].name()
    with pytest.raises(ValueError):
        BY_ID["engine.version"].name("orders")


def _library_files() -> list[Path]:
    return sorted(p for d in LIBRARY for p in (REPO_ROOT / d).rglob("*.py"))


def test_only_catalogue_rows_make_check_results() -> None:
    """No result is built outside catalogue.py, so every name the code can report is a row."""
    builders = {"CheckResult", "CheckSpec"}
    for path in _library_files():
        if path.name == "catalogue.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                called = getattr(node.func, "id", getattr(node.func, "attr", None))
                assert called not in builders, f"{path}:{node.lineno} builds a result itself"


def test_no_check_id_is_spelled_outside_the_catalogue() -> None:
    # the undotted ids (freshness, assert) are also words of the expectations file
    dotted = {s.id for s in CATALOGUE if "." in s.id}
    stems = tuple(f"{i}[" for i in dotted)
    for path in _library_files():
        if path.name == "catalogue.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value not in dotted and not node.value.startswith(stems), (
                    f"{path}:{node.lineno} spells check id {node.value!r}: use its catalogue row"
                )


def test_each_run_reports_exactly_the_rows_that_apply(pair: Pair) -> None:
    """Real checks on both engines: no run, a live source, a previous fingerprint, each with
    and without expectations; every row of the engine is reported, and nothing else."""
    engine, taken = pair.engine, NEWEST_ORDER
    previous = fingerprint(pair.target)
    runs = {
        ("always",): run_checks(None, pair.target),
        ("always", "expectations"): run_checks(
            None, pair.target, EVERY_EXPECTATION, snapshot_time=taken
        ),
        ("always", "source"): run_checks(pair.source, pair.target),
        ("always", "source", "expectations"): run_checks(
            pair.source, pair.target, EVERY_EXPECTATION, snapshot_time=taken
        ),
        ("always", "previous", "expectations"): run_checks(
            None, pair.target, EVERY_EXPECTATION, snapshot_time=taken, previous=previous
        ),
    }
    seen: set[str] = set()
    for applies, report in runs.items():
        assert reported_ids(report) == expected_ids(engine, *applies), applies
        assert report.verdict == "pass", report.failures
        seen |= reported_ids(report)
    assert seen == expected_ids(engine, *APPLIES)
    assert {s.id for s in CATALOGUE} - seen == {s.id for s in CATALOGUE if engine not in s.engines}


def test_every_row_says_in_words_why_a_check_failed() -> None:
    for spec in CATALOGUE:
        subject = "orders" if spec.subject else None
        failed = spec.result(False, 3, ">= 2000", "shrank by 1997", subject=subject)
        sentence = explain(failed)
        assert sentence[0].isupper() and sentence.endswith("."), (spec.id, sentence)
        assert "{" not in sentence and "}" not in sentence, (spec.id, sentence)
        if "{subject}" in spec.failure_means:
            assert "`orders`" in sentence, spec.id
        doc = catalogue_doc.CHECKS_DOC.read_text(encoding="utf-8")
        assert spec.failure_means in doc, spec.id
    assert explain(ROW_COUNT.result(False, 0, 705, subject="hits")) == (
        "The restored copy holds 0 rows of `hits`, the source 705."
    )
    assert explain(ROW_COUNT.result(True, 705, 705, subject="hits")) == ""


def test_only_rows_that_say_when_may_report_a_skip() -> None:
    skippable = {spec.id for spec in CATALOGUE if spec.skipped_when}
    assert skippable == {"security.user_count", "consistency.amcheck"}
    skipped = BY_ID["consistency.amcheck"].skipped("amcheck not installed in db")
    assert (skipped.status, skipped.passed, skipped.failed) == ("skip", False, False)
    assert explain(skipped) == "Not run: amcheck not installed in db."
    with pytest.raises(ValueError, match="declares no skipped_when"):
        BY_ID["data.row_count"].skipped("no reason", subject="orders")
