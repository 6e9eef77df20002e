"""The steady-state probe against the REAL web app (stopped and restarted by the test), the
numbers it derives, the PNG chart and the hypothesis exit code."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reslab.chaos import chart, hypothesis, metrics
from reslab.chaos.errors import InvalidHypothesis
from reslab.chaos.probe import Sample, SteadyStateProbe, identify
from reslab.cli.app import app
from tests.inject.conftest import REGION, WORKSHOP, World

INSTANCE = "i-0aaaabbbbccccdddd"
AZ = "us-east-2b"
WAIT_S = 60.0
INTERVAL = 0.2


# --- pure functions ---------------------------------------------------------------------------


def sample(t: float, ok: bool, instance: str = "i-1") -> Sample:
    return Sample(t=t, ok=ok, status=200 if ok else None, latency_ms=10.0 + t, instance=instance)


def test_outages_downtime_and_time_to_recover() -> None:
    samples = [sample(t / 2, ok) for t, ok in enumerate([1, 1, 1, 0, 0, 0, 1, 1, 0, 1, 1])]
    samples = [Sample(s.t, bool(s.ok), s.status, s.latency_ms, "i-2" if s.t > 3 else "i-1")
               for s in samples]  # fmt: skip
    summary = metrics.summarise(samples, [("inject", 1.2), ("recover", 4.0)], 0.5)
    assert [(o["start"], o["end"]) for o in summary["outages"]] == [(1.5, 3.0), (4.0, 4.5)]
    assert summary["downtime_s"] == pytest.approx(2.0)
    assert summary["time_to_recover_s"] == pytest.approx(4.5 - 1.2)
    assert summary["availability"] == pytest.approx(100 * 7 / 11)
    assert summary["per_instance"] == {"before": {"i-1": 3}, "after": {"i-1": 1, "i-2": 3}}
    assert summary["p50_ms"] == pytest.approx(13.0)  # of 10, 10.5, 11, 13, 13.5, 14.5, 15
    assert summary["p99_ms"] == pytest.approx(15.0)


def test_unrecovered_outage_has_no_time_to_recover() -> None:
    summary = metrics.summarise([sample(0, True), sample(1, False)], [("inject", 0.5)], 1.0)
    assert summary["time_to_recover_s"] is None and summary["recovered"] is False
    assert summary["downtime_s"] == pytest.approx(1.0)


def test_identify_json_and_html() -> None:
    body = json.dumps({"instance_id": INSTANCE, "availability_zone": AZ}).encode()
    assert identify(body, "application/json") == (INSTANCE, AZ)
    page = f'<dd id="instance-id">{INSTANCE}</dd><dd id="az">{AZ}</dd>'.encode()
    assert identify(page, "text/html") == (INSTANCE, AZ)
    error = f"<p>This instance ({INSTANCE}, {AZ}) writes every visit</p>".encode()
    assert identify(error, "text/html") == (INSTANCE, AZ)


def test_hypothesis_parsing_and_verdict() -> None:
    clauses = hypothesis.parse("availability>=99, p99_ms <= 500 and downtime_s<=5")
    held, lines = hypothesis.evaluate(
        clauses, {"availability": 99.5, "p99_ms": 700.0, "downtime_s": 0.0}
    )
    assert not held and sum("FAILS" in line for line in lines) == 1
    with pytest.raises(InvalidHypothesis):
        hypothesis.parse("uptime>=99")


# --- the real web app -------------------------------------------------------------------------


@dataclass
class WebApp:
    port: int
    env: dict[str, str]
    proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "webapp", "--port", str(self.port)],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.startswith("listening on "), line

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=WAIT_S)
        self.proc = None


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def webapp(pg_url: str) -> Iterator[WebApp]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBAPP_")}
    env.update(WEBAPP_DB_URL=pg_url, WEBAPP_INSTANCE_ID=INSTANCE, WEBAPP_AZ=AZ)
    subprocess.run([sys.executable, "-m", "webapp.schema"], env=env, check=True, timeout=WAIT_S)
    app_ = WebApp(free_port(), env)
    app_.start()
    yield app_
    app_.stop()


def test_probe_measures_a_real_outage_to_within_one_interval(webapp: WebApp) -> None:
    probe = SteadyStateProbe(webapp.url, interval=INTERVAL)
    with probe:
        time.sleep(1.0)
        down_from = probe.mark("inject")
        webapp.stop()  # the process is gone when this returns
        down_by = probe.now()
        time.sleep(1.5)
        up_from = probe.now()
        webapp.start()  # listening (the socket accepts) when this returns
        up_by = probe.now()
        probe.mark("recover")
        time.sleep(1.0)
    samples, marks = probe.snapshot()
    summary = metrics.summarise(samples, marks, INTERVAL)
    assert len(summary["outages"]) == 1, summary["outages"]
    outage = summary["outages"][0]
    # each edge is caught within one probe period of when it happened: the configured interval,
    # or the real spacing of the samples when a loaded machine stretched it
    starts = [s.t for s in samples]
    period = max(INTERVAL, *(b - a for a, b in zip(starts, starts[1:], strict=False)))
    assert down_from - period <= outage["start"] <= down_by + period
    assert up_from <= outage["end"] <= up_by + period
    true_min, true_max = up_from - down_by, up_by - down_from
    assert true_min - period <= summary["downtime_s"] <= true_max + period
    assert period < 1.0, f"the probe stalled for {period:.2f}s"
    ok = [s for s in samples if s.ok]
    assert ok and {(s.instance, s.az) for s in ok} == {(INSTANCE, AZ)}
    assert summary["per_instance"]["before"][INSTANCE] >= 3


def test_inject_with_probe_writes_report_and_chart_and_hypothesis_sets_exit_code(
    world: World, webapp: WebApp, tmp_path: Path
) -> None:
    # a lab whose web stack points at the real web app
    world.client("cloudformation").create_stack(
        StackName=f"Probe{tmp_path.name[-6:]}Web",
        TemplateBody=json.dumps({
            "Resources": {"Marker": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {"WebsiteURL": {"Value": webapp.url}},
        }),
    )  # fmt: skip
    base = [
        "inject", "s3", "--bucket", world.bucket, "--duration", "0.6",
        "--probe", "--probe-interval", str(INTERVAL), "--baseline", "0.6", "--observe", "0.4",
        "--endpoint-url", world.endpoint, "--region", REGION, "--workshop", WORKSHOP,
        "--stack-prefix", f"Probe{tmp_path.name[-6:]}", "--journal-dir", str(tmp_path / "j"),
    ]  # fmt: skip
    before = world.snapshot()
    passed = CliRunner().invoke(
        app, [*base, "--report-dir", str(tmp_path / "ok"), "--hypothesis", "availability>=99"]
    )
    assert passed.exit_code == 0, passed.output
    assert "hypothesis: availability = 100.000 >= 99: holds" in passed.output
    report = json.loads((tmp_path / "ok" / "report.json").read_text())
    assert report["probe"]["url"] == webapp.url
    assert report["summary"]["availability"] == 100.0
    assert [m["name"] for m in report["summary"]["marks"]] == ["inject", "recover"]
    png = tmp_path / "ok" / "timeline.png"
    assert chart.png_size(png) == (chart.WIDTH_PX, chart.HEIGHT_PX)
    assert world.snapshot() == before

    # the real process: a failed hypothesis is exit code 1 and a named error, chart still made
    # (time_to_recover_s is judged after the injection only: the baseline met the steady state)
    failed = subprocess.run(
        [sys.executable, "-m", "reslab", *base, "--report-dir", str(tmp_path / "bad"),
         "--hypothesis", "time_to_recover_s<0"],
        env={**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
        capture_output=True, text=True, timeout=WAIT_S,
    )  # fmt: skip
    assert failed.returncode == 1, failed.stderr
    assert (
        failed.stderr.strip()
        .splitlines()[-1]
        .startswith("HypothesisFailed: time_to_recover_s = 0.000 < 0: FAILS")
    )
    assert chart.png_size(tmp_path / "bad" / "timeline.png") == (1200, 700)
    assert world.snapshot() == before
