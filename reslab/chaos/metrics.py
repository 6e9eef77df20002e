"""Turn probe samples into the numbers a participant cares about.

- availability: successful samples / all samples, in percent;
- outages: runs of failed samples, each from the first failed request's start to the start of the
  next successful one (so each edge is exact to within one probe interval);
- downtime_s: the outages added up;
- time_to_recover_s: from the injection mark to the end of the last outage that began after it
  (0 when the site never failed, None when it had not recovered when probing stopped);
- p50_ms / p99_ms: latency of the successful requests (nearest rank);
- requests per instance and per AZ before and after the injection mark.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from reslab.chaos.hypothesis import render_counts
from reslab.chaos.probe import Sample


def percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[rank - 1]


def outages(samples: list[Sample], interval: float) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    start: float | None = None
    last_failed = 0.0
    for sample in sorted(samples, key=lambda s: s.t):
        if not sample.ok:
            if start is None:
                start = sample.t
            last_failed = sample.t
        elif start is not None:
            found.append({"start": start, "end": sample.t, "recovered": True})
            start = None
    if start is not None:
        found.append({"start": start, "end": last_failed + interval, "recovered": False})
    for outage in found:
        outage["duration_s"] = outage["end"] - outage["start"]
    return found


def _mark(marks: list[tuple[str, float]], name: str) -> float | None:
    return next((t for n, t in marks if n == name), None)


def _split_counts(samples: list[Sample], at: float | None, attr: str) -> dict[str, dict[str, int]]:
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    for sample in samples:
        if not sample.ok:
            continue
        key = getattr(sample, attr) or "unknown"
        (before if at is None or sample.t < at else after)[key] += 1
    return {"before": dict(sorted(before.items())), "after": dict(sorted(after.items()))}


def summarise(
    samples: list[Sample], marks: list[tuple[str, float]], interval: float
) -> dict[str, Any]:
    total = len(samples)
    good = [s for s in samples if s.ok]
    found = outages(samples, interval)
    inject_at = _mark(marks, "inject")
    ttr: float | None = None
    if inject_at is not None:
        later = [o for o in found if o["end"] > inject_at]
        if not later:
            ttr = 0.0
        elif later[-1]["recovered"]:
            ttr = later[-1]["end"] - inject_at
    latencies = [s.latency_ms for s in good]
    return {
        "requests": total,
        "successes": len(good),
        "failures": total - len(good),
        "availability": 100.0 * len(good) / total if total else None,
        "downtime_s": sum(o["duration_s"] for o in found),
        "outages": found,
        "time_to_recover_s": ttr,
        "recovered": all(o["recovered"] for o in found),
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "per_instance": _split_counts(samples, inject_at, "instance"),
        "per_az": _split_counts(samples, inject_at, "az"),
        "marks": [{"name": n, "t": t} for n, t in marks],
        "interval_s": interval,
    }


def render(summary: dict[str, Any]) -> str:
    def num(value: Any, unit: str = "", digits: int = 1) -> str:
        return "n/a" if value is None else f"{value:.{digits}f}{unit}"

    lines = [
        f"availability: {num(summary['availability'], ' %', 2)} "
        f"({summary['successes']}/{summary['requests']} requests)",
        f"downtime: {num(summary['downtime_s'], ' s')} in {len(summary['outages'])} outage(s)",
        f"time to recover: {num(summary['time_to_recover_s'], ' s')}",
        f"latency p50/p99: {num(summary['p50_ms'], ' ms')} / {num(summary['p99_ms'], ' ms')}",
    ]
    for phase, steady in (summary.get("steady_state") or {}).items():
        if steady:
            state = "met" if steady["met"] else "NOT met"
            forced = ", injected anyway (--force)" if steady.get("forced") else ""
            statuses = render_counts(steady["statuses"])
            lines.append(f"steady state {phase}: {state} ({statuses}){forced}")
    for phase in ("before", "after"):
        counts = summary["per_instance"][phase]
        shown = ", ".join(f"{k}={v}" for k, v in counts.items()) or "-"
        lines.append(f"requests per instance {phase} injection: {shown}")
    return "\n".join(lines)
