"""The probe's chart, judged on the figure's objects (legend texts, spans, scatter groups), not on
pixels: the title names the fault and target, the fault's time in force is shaded, every HTTP
status seen has its own legend entry with its count, nothing that did not happen is listed, and a
1 s outage on a 10 minute axis stays visible."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from reslab.chaos import chart, metrics
from reslab.chaos.probe import Sample

INTERVAL = 0.5
URL = "http://127.0.0.1:8080/"
TARGET = "subnet subnet-0c29 (us-east-2b, vpc-bf05, now acl-502f)"


def run(outcomes: dict[float, tuple[int | None, str | None]], seconds: float) -> list[Sample]:
    """Samples every INTERVAL for ``seconds``: 200 unless ``outcomes`` says otherwise at t."""
    samples = []
    for step in range(int(seconds / INTERVAL)):
        t = step * INTERVAL
        status, error = outcomes.get(t, (200, None))
        ok = status is not None and status < 400
        samples.append(Sample(t, ok, status, 12.0 if ok else 3.0, error=error))
    return samples


def figure(samples: list[Sample], marks: list[tuple[str, float]], **kw: Any) -> Any:
    data = {
        "url": URL,
        "interval_s": INTERVAL,
        "marks": [{"name": n, "t": t} for n, t in marks],
        "samples": [asdict(s) for s in samples],
    }
    return chart.timeline_figure(data, metrics.summarise(samples, marks, INTERVAL), **kw)


def legend_texts(axis: Any) -> list[str]:
    legend = axis.get_legend()
    return [] if legend is None else [t.get_text() for t in legend.get_texts()]


def spans(axis: Any, gid: str) -> list[tuple[float, float]]:
    found = []
    for patch in axis.patches:
        if patch.get_gid() != gid:
            continue
        if hasattr(patch, "get_width"):  # matplotlib >= 3.9: a Rectangle
            found.append((patch.get_x(), patch.get_x() + patch.get_width()))
        else:
            xs = [x for x, _y in patch.get_xy()]
            found.append((min(xs), max(xs)))
    return found


def test_title_statuses_fault_window_and_a_short_outage_on_a_long_axis() -> None:
    # 10 minutes; the AZ fault from 100 s to 400 s; one 1 s outage (two 404s) and a refused
    # connection inside it
    outcomes = {250.0: (404, "HTTP 404"), 250.5: (404, "HTTP 404"),
                251.0: (None, "URLError: [Errno 111] Connection refused")}  # fmt: skip
    samples = run(outcomes, 600)
    fig = figure(samples, [("inject", 100.0), ("recover", 400.0)], fault="az", targets=[TARGET])
    top, bottom = fig.axes
    assert fig._suptitle.get_text() == f"reslab inject az: {TARGET}"
    assert top.get_title().startswith(f"{URL}: availability 99.75 %, downtime 1.5 s")
    texts = legend_texts(top)
    assert texts == [
        "az in force (300.0 s)",
        "outage (1, 1.5 s in all)",
        "URLError x1",
        "404 Not Found x2",
        f"200 OK x{len(samples) - 3}",
    ]
    # one scatter group per status seen, on both axes, each its own colour
    groups = {c.get_gid(): c for c in top.collections}
    assert set(groups) == {"status-200", "status-404", "status-URLError"}
    colours = {tuple(c.get_facecolor()[0]) for c in groups.values()}
    assert len(colours) == 3
    assert {c.get_gid() for c in bottom.collections} == {
        "latency-200", "latency-404", "latency-URLError"
    }  # fmt: skip
    assert [t.get_text() for t in top.get_yticklabels()] == ["URLError", "404 Not Found", "200 OK"]
    # the fault's time in force is shaded exactly, on both axes
    assert spans(top, "fault") == [(100.0, 400.0)] and spans(bottom, "fault") == [(100.0, 400.0)]
    # the 1.5 s outage is widened around its middle to stay visible on the 600 s axis
    ((start, end),) = spans(top, "outage")
    assert end - start == pytest.approx(600 * chart.MIN_SPAN_FRACTION)
    assert start < 250.0 + 0.75 < end
    assert legend_texts(bottom) == ["latency of successful requests"]


def test_nothing_that_did_not_happen_is_in_the_legend() -> None:
    samples = run({}, 20)
    fig = figure(samples, [])
    top, bottom = fig.axes
    assert fig._suptitle.get_text() == "steady-state probe"
    assert legend_texts(top) == [f"200 OK x{len(samples)}"]
    assert spans(top, "fault") == [] and spans(top, "outage") == []
    assert {c.get_gid() for c in top.collections} == {"status-200"}
    assert not any("fail" in t.lower() for t in legend_texts(top) + legend_texts(bottom))


def test_a_fault_left_in_force_is_shaded_to_the_end_and_says_so() -> None:
    samples = run({t / 2: (503, "HTTP 503") for t in range(20, 40)}, 20)
    fig = figure(samples, [("inject", 10.0)], fault="s3", targets=["bucket a", "bucket b"])
    top, _bottom = fig.axes
    assert fig._suptitle.get_text() == "reslab inject s3: bucket a (+1 more)"
    assert spans(top, "fault") == [(10.0, 20.0)]
    texts = legend_texts(top)
    assert texts[0] == "s3 in force (10.0 s, still in force)"
    assert "503 Service Unavailable x20" in texts
    assert "200 OK x20" in texts  # before the injection


def test_the_png_has_the_documented_size(tmp_path: Path) -> None:
    samples = run({5.0: (500, "HTTP 500")}, 10)
    data = {"url": URL, "interval_s": INTERVAL, "marks": [],
            "samples": [asdict(s) for s in samples]}  # fmt: skip
    path = chart.write_timeline(data, metrics.summarise(samples, [], INTERVAL), tmp_path / "t.png")
    assert chart.png_size(path) == (chart.WIDTH_PX, chart.HEIGHT_PX)
