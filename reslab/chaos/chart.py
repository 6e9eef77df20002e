"""PNG timeline of a probe run (matplotlib, Agg backend): success/failure and latency over time,
with the injection and recovery marked. The image is exactly ``WIDTH_PX`` x ``HEIGHT_PX``."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

WIDTH_PX = 1200
HEIGHT_PX = 700
DPI = 100
MARK_STYLE = {"inject": ("tab:red", "injection"), "recover": ("tab:green", "recovery")}


def write_timeline(probe_data: dict[str, Any], summary: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    samples = probe_data["samples"]
    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 2]})
    ok_t = [s["t"] for s in samples if s["ok"]]
    bad_t = [s["t"] for s in samples if not s["ok"]]
    top.scatter(ok_t, [1] * len(ok_t), marker="|", color="tab:green", label="success")
    top.scatter(bad_t, [0] * len(bad_t), marker="|", color="tab:red", label="failure")
    for outage in summary.get("outages", []):
        top.axvspan(outage["start"], outage["end"], color="tab:red", alpha=0.15)
    top.set_yticks([0, 1], ["fail", "ok"])
    top.set_ylim(-0.5, 1.5)
    avail = summary.get("availability")
    top.set_title(
        f"{probe_data['url']}  availability "
        f"{'n/a' if avail is None else f'{avail:.2f} %'}, downtime {summary['downtime_s']:.1f} s"
    )
    good = [s for s in samples if s["ok"]]
    bottom.plot(
        [s["t"] for s in good],
        [s["latency_ms"] for s in good],
        color="tab:blue",
        linewidth=0.8,
        marker=".",
        markersize=3,
        label="latency (ok)",
    )
    bad = [s for s in samples if not s["ok"]]
    bottom.scatter(
        [s["t"] for s in bad],
        [s["latency_ms"] for s in bad],
        color="tab:red",
        marker="x",
        s=12,
        label="time to fail",
    )
    bottom.legend(loc="upper right", fontsize="small")
    bottom.set_ylabel("latency (ms)")
    bottom.set_xlabel("seconds since probing started")
    for mark in probe_data.get("marks", []):
        color, label = MARK_STYLE.get(mark["name"], ("tab:gray", mark["name"]))
        for axis in (top, bottom):
            axis.axvline(mark["t"], color=color, linestyle="--", linewidth=1.2)
        bottom.annotate(
            label,
            (mark["t"], 1),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="top",
            ha="right",
            color=color,
        )
    top.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=DPI)
    return path


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk; ValueError when it is not a PNG."""
    head = path.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError(f"{path} is not a PNG")
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)
