"""The steady state is checked before anything changes (chaostoolkit's hypothesis before): a
target that already fails during the baseline is refused with the status codes seen, unless
``--force``, and then the report says so. Real HTTP against the real moto server's S3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from reslab.chaos import chart, hypothesis
from reslab.chaos.probe import Sample
from reslab.cli.app import app
from tests.inject.conftest import REGION, WORKSHOP, World

INTERVAL = 0.2
TIMEOUT_S = 60


def command(world: World, tmp_path: Path, url: str, *extra: str) -> list[str]:
    return [
        "inject", "s3", "--bucket", world.bucket, "--duration", "0.4",
        "--probe-url", url, "--probe-interval", str(INTERVAL), "--baseline", "0.6",
        "--observe", "0.2", "--endpoint-url", world.endpoint, "--region", REGION,
        "--workshop", WORKSHOP, "--journal-dir", str(tmp_path / "journal"),
        "--report-dir", str(tmp_path / "report"), *extra,
    ]  # fmt: skip


def test_a_failing_baseline_is_refused_before_any_change(world: World, tmp_path: Path) -> None:
    missing = f"{world.endpoint}/{world.bucket}/images/no-such-image.jpg"
    before = world.snapshot()
    result = subprocess.run(
        [sys.executable, "-m", "reslab", *command(world, tmp_path, missing)],
        env={**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
        capture_output=True, text=True, timeout=TIMEOUT_S,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("SteadyStateNotMet: steady state not met before injection: 404 x")
    assert f"from {missing}" in last and "--force" in last
    assert "Traceback" not in result.stderr
    assert world.snapshot() == before  # nothing injected
    assert not (tmp_path / "journal").exists() or not list((tmp_path / "journal").iterdir())


def test_force_injects_anyway_and_the_report_says_so(world: World, tmp_path: Path) -> None:
    missing = f"{world.endpoint}/{world.bucket}/images/no-such-image.jpg"
    before = world.snapshot()
    result = CliRunner().invoke(app, command(world, tmp_path, missing, "--force"))
    assert result.exit_code == 0, result.output
    assert "warning: steady state not met before injection: 404 x" in result.output
    assert "steady state before: NOT met (404 x" in result.output
    assert "injected anyway (--force)" in result.output
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    steady = report["summary"]["steady_state"]
    assert steady["before"]["met"] is False and steady["before"]["forced"] is True
    assert set(steady["before"]["statuses"]) == {"404"}
    assert steady["after"]["met"] is False and set(steady["after"]["statuses"]) == {"404"}
    assert report["journal_id"]  # it was injected (and reverted after --duration)
    figure = chart.timeline_figure(report["probe"], report["summary"], "s3", report["targets"])
    assert figure._suptitle.get_text().endswith("[steady state NOT met before: --force]")
    assert world.snapshot() == before


def sample(ok: bool, status: int | None, error: str | None = None) -> Sample:
    return Sample(t=0.0, ok=ok, status=status, latency_ms=1.0, error=error)


def test_baseline_verdict_counts_statuses_and_judges_only_baseline_clauses() -> None:
    good = [sample(True, 200)] * 4
    clauses = hypothesis.parse("availability>=99, time_to_recover_s<=5")
    steady = hypothesis.before_injection(good, {"availability": 100.0}, clauses)
    assert steady.met and steady.statuses == {"200": 4}
    assert steady.checks == ["availability = 100.000 >= 99: holds"]  # ttr: not judged yet
    mixed = [*good, sample(False, None, "URLError: refused"), sample(False, 503)]
    steady = hypothesis.before_injection(mixed, {"availability": 66.7}, None)
    assert not steady.met and steady.statuses == {"200": 4, "URLError": 1, "503": 1}
    assert steady.describe("http://x/").startswith(
        "steady state not met before injection: 200 x4, URLError x1, 503 x1 from http://x/"
    )
    slow = hypothesis.before_injection(good, {"p99_ms": 900.0}, hypothesis.parse("p99_ms<=500"))
    assert not slow.met and "p99_ms = 900.000 <= 500: FAILS" in slow.describe("u")
    assert not hypothesis.before_injection([], {}, None).met
