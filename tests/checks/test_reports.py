"""Report rendering: JSON layout, self-contained HTML with every value escaped, S3 keys."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from reslab.checks import REPORT_SCHEMA_VERSION, CheckReport, fingerprint, quote_ident, run_checks
from reslab.checks.catalogue import ROW_COUNT
from reslab.checks.runner import STEPS
from reslab.dburl import parse_db_url
from reslab.localcloud.testing import unique_prefix
from reslab.reports import render_html, render_json, report_key, report_keys
from reslab.reports.keys import FINGERPRINT_FILE, REPORT_FILES, list_run_objects, run_prefix
from tests.checks.sample import HOSTILE, ODD_TABLE, Pair

REPORT_KEYS = {
    "schema_version",
    "verdict",
    "summary",
    "skipped",
    "engine",
    "comparison",
    "source",
    "source_instance",
    "target",
    "snapshot",
    "started_at",
    "finished_at",
    "timings",
    "checks",
}
CHECK_KEYS = {"name", "category", "status", "measured", "expected", "details"}


def hostile_report(pair: Pair) -> CheckReport:
    odd = quote_ident(pair.engine, ODD_TABLE)
    exp = {
        "schema_version": 1,
        "assertions": [
            {
                "name": "<img src=x onerror=alert(1)>",
                "sql": f"SELECT val FROM {odd}".replace("val", quote_ident(pair.engine, "val`ue"))
                + " WHERE reslab_row = 1",
                "expect": "safe",
            },
        ],
    }
    return run_checks(pair.source, pair.target, exp, snapshot_id="snap<1>&'\"")


def test_json_report_layout(pair: Pair) -> None:
    report = run_checks(
        pair.source,
        pair.target,
        snapshot_id="rds:db-2026",
        snapshot_time=datetime(2026, 1, 2, tzinfo=UTC),
    )
    data = json.loads(render_json(report))
    assert set(data) == REPORT_KEYS
    assert data["schema_version"] == REPORT_SCHEMA_VERSION == 2
    assert data["snapshot"] == {"id": "rds:db-2026", "time": "2026-01-02T00:00:00+00:00"}
    assert data["summary"]["failed"] == 0 and data["verdict"] == "pass"
    assert data["summary"]["skipped"] == 0 and data["skipped"] == []
    assert all(set(c) == CHECK_KEYS for c in data["checks"])
    steps = [t["step"] for t in data["timings"]]
    assert steps[:3] == ["connect", "fingerprint.source", "fingerprint.target"]
    assert {"compare", "freshness", "consistency", "assertions"} <= set(steps)
    assert set(steps) <= set(STEPS), "every timed step says what it measures"
    assert all(t["start"] >= 0 and t["seconds"] >= 0 for t in data["timings"])
    assert CheckReport.from_dict(data).to_dict() == data


def test_report_urls_are_redacted(pg_url: str) -> None:
    url = pg_url.replace("postgres@", "postgres:s3cret@")
    report = run_checks(url, url)
    text = render_json(report) + render_html(report)
    assert "s3cret" not in text
    assert report.target == parse_db_url(url).redacted()


def test_html_escapes_hostile_names_and_content(pair: Pair) -> None:
    report = hostile_report(pair)
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower()
    assert "<img" not in page.lower() and "<b>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page  # measured value
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # assertion name
    assert "odd &quot;name&quot; `x` &lt;b&gt;" in page  # the table's name in check names
    assert "snap&lt;1&gt;&amp;&#x27;&quot;" in page
    assert 'class="banner fail"' in page
    assert "<link" not in page and "src=" not in page.replace("src=x", "")  # self-contained
    measured = next(c for c in report.checks if c.name.startswith("assert["))
    assert measured.measured == HOSTILE


def test_html_from_a_json_dict_matches(pair: Pair) -> None:
    report = run_checks(pair.source, pair.target)
    assert render_html(json.loads(render_json(report))) == render_html(report)
    assert 'class="banner pass"' in render_html(report)


def test_html_says_what_each_check_proves(pair: Pair) -> None:
    page = render_html(run_checks(pair.source, pair.target))
    assert f'<td title="{ROW_COUNT.description}">data.row_count[orders]</td>' in page


def test_report_keys() -> None:
    when = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone(timedelta(hours=2)))
    assert report_key("db-1", when) == "reports/db-1/20260304T030607Z/report.json"
    assert report_keys("db-1", "20260304T030607Z") == {
        "json": "reports/db-1/20260304T030607Z/report.json",
        "html": "reports/db-1/20260304T030607Z/report.html",
    }
    for bad in ("../x", "a/b", "", "a b"):
        with pytest.raises(ValueError):
            report_key(bad, when)


def test_runs_are_listed_newest_first_from_the_bucket(local_cloud) -> None:
    """The layout written (run_prefix) is the layout listed; keys outside it are ignored."""
    s3 = local_cloud.client("s3", "us-east-1")
    bucket = unique_prefix("reports").lower()
    s3.create_bucket(Bucket=bucket)
    runs = [
        ("db-1", "20260101T000000Z"),
        ("db-1", "20260301T000000Z"),
        ("db-2", "20260201T000000Z"),
    ]
    keys = [
        run_prefix(i, t) + f for i, t in runs for f in (*REPORT_FILES.values(), FINGERPRINT_FILE)
    ]
    for key in [*keys, "reports/db-1/x/y/report.json", "reports/report.json", "other/report.json"]:
        s3.put_object(Bucket=bucket, Key=key, Body=b"{}")
    listed = list_run_objects(s3, bucket, None, REPORT_FILES["json"])
    assert [(r.instance, r.timestamp) for r in listed] == [runs[1], runs[2], runs[0]]
    assert [r.key for r in listed] == [report_key(i, t) for i, t in (runs[1], runs[2], runs[0])]
    one = list_run_objects(s3, bucket, "db-1", FINGERPRINT_FILE)
    assert [r.key for r in one] == [
        run_prefix(*runs[1]) + "fingerprint.json",
        run_prefix(*runs[0]) + "fingerprint.json",
    ]


def test_library_imports_without_cli_or_aws_packages() -> None:
    code = (
        "import sys, reslab.checks, reslab.reports; "
        "heavy = {'typer', 'rich', 'boto3', 'botocore', 'click'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_quote_ident_per_engine() -> None:
    assert quote_ident("postgres", "s", 'a"b') == '"s"."a""b"'
    assert quote_ident("mysql", "a`b") == "`a``b`"
    with pytest.raises(ValueError):
        quote_ident("postgres", "nul\x00")


def test_html_renders_lists_as_lists(pair: Pair) -> None:
    pair.on_target("ALTER TABLE orders ADD COLUMN extra integer")
    report = run_checks(pair.source, pair.target)
    page = render_html(report)
    columns = next(c.measured for c in report.checks if c.name == "schema.columns[orders]")
    assert f"<ul><li>{columns[0]}</li><li>{columns[1]}</li>" in page  # measured columns
    assert '["' not in page and "[&quot;" not in page  # no list printed as JSON
    assert "break-all" not in page  # words are never broken mid-word
    assert "The columns of `orders` differ from the source&#x27;s: extra: extra int" in page


def test_html_header_names_the_source_instance(pair: Pair) -> None:
    report = run_checks(pair.source, pair.target, source_instance="lab-db-1")
    assert report.to_dict()["source_instance"] == "lab-db-1"
    page = render_html(report)
    assert "<dt>Source instance</dt><dd>lab-db-1</dd>" in page
    assert "<title>Backup check PASS - lab-db-1</title>" in page
    # the restore machine's report.json carries the instance in its "run" block
    stored = {**report.to_dict(), "source_instance": None, "run": {"instance": "lab-db-2"}}
    assert "<dt>Source instance</dt><dd>lab-db-2</dd>" in render_html(stored)


def test_failed_checks_say_why_in_words(pair: Pair) -> None:
    previous = fingerprint(pair.source)
    pair.on_target("DELETE FROM orders WHERE id > 3")
    page = render_html(run_checks(pair.source, pair.target))
    assert "The restored copy holds 3 rows of `orders`, the source 2,000." in page
    assert 'class="banner fail">Backup check FAIL' in page
    pair.on_target("DELETE FROM orders")
    page = render_html(run_checks(None, pair.target, previous=previous))
    assert (
        "The restored copy holds 0 rows of `orders`, the previous verified backup 2,000"
        " (shrank by 2000)." in page
    )


def test_timings_say_what_each_step_measures(pair: Pair) -> None:
    report = run_checks(pair.source, pair.target)
    page = render_html(report)
    for timing in report.timings:
        assert f"<td>{timing.step}</td><td>{STEPS[timing.step]}</td>" in page.replace("&#x27;", "'")
    assert "Wall-clock time of each step of the check" in page
    starts = {t.step: t.start for t in report.timings}
    # the source and the target were read at the same time, not one after the other
    source, target = (
        next(t for t in report.timings if t.step == s)
        for s in ("fingerprint.source", "fingerprint.target")
    )
    assert source.start is not None and target.start is not None
    assert source.start < target.start + target.seconds and target.start < source.start + (
        source.seconds
    ), starts
    assert "ran at the same time" in page


def layout_1(report: CheckReport) -> dict[str, object]:
    """The JSON a version-1 reader wrote for ``report``: no skip status, no start times."""
    data = report.to_dict()
    for key in ("skipped", "source_instance"):
        del data[key]
    data["schema_version"] = 1
    data["summary"] = {k: v for k, v in data["summary"].items() if k != "skipped"}
    data["timings"] = [{"step": t["step"], "seconds": t["seconds"]} for t in data["timings"]]
    for check in data["checks"]:
        if check["status"] == "skip":
            check["status"], check["details"] = "pass", "skipped: " + check["details"]
    return data


def test_reports_of_layout_1_are_still_read(pg_url: str) -> None:
    from reslab.checks.catalogue import AMCHECK

    report = run_checks(None, pg_url)
    skipped = AMCHECK.skipped("amcheck not installed in x; install it to enable")
    report = replace(report, checks=(*report.checks[:-1], skipped))
    old = layout_1(report)
    assert old["verdict"] == "pass" and old["checks"][-1]["status"] == "pass"
    again = CheckReport.from_dict(old)
    assert again.skipped == [skipped] and again.verdict == "pass"
    page = render_html(old)
    assert "Backup check PASS, 1 check skipped" in page
    assert "<dt>Report layout</dt><dd>version 1</dd>" in page
    with pytest.raises(ValueError, match="unsupported report schema_version 3"):
        CheckReport.from_dict({**report.to_dict(), "schema_version": 3})
