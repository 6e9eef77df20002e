"""PNG timeline of a probe run (matplotlib, Agg backend), exactly ``WIDTH_PX`` x ``HEIGHT_PX``.

- the title names the fault and its target, the probed URL and the headline numbers, and says
  when the injection was forced although the steady state was not met before it;
- the time the fault was in force is shaded (from the injection to the recovery, or to the end of
  probing when it was left in force), and so is every outage;
- top: one row per outcome seen (HTTP status, or the error when nothing answered), each with its
  own colour and marker and its count in the legend; bottom: latency of every request, same style;
- the legend lists only what happened (no "failure" entry for a run without failures);
- a span shorter than ``MIN_SPAN_FRACTION`` of the axis is drawn that wide, centred on where it
  happened, so a 1 s outage stays visible on a 10 minute run.

:func:`timeline_figure` builds the figure (tests inspect its artists); :func:`write_timeline`
saves it.
"""

from __future__ import annotations

import http
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reslab.chaos.hypothesis import outcome_label
from reslab.chaos.probe import Sample

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH_PX = 1200
HEIGHT_PX = 700
DPI = 100
MIN_SPAN_FRACTION = 0.006
MARK_STYLE = {
    "inject": ("tab:red", "injection"),
    "recover": ("tab:green", "recovery"),
    "settled": ("tab:green", "settled"),
}
FAULT_COLOUR = "tab:orange"
OUTAGE_COLOUR = "tab:red"
# by status class: colours to cycle through when several codes of one class occur, and a marker
CLASS_STYLE: dict[str, tuple[tuple[str, ...], str]] = {
    "2": (("tab:green", "olivedrab"), "o"),
    "3": (("tab:cyan", "teal"), "s"),
    "4": (("darkorange", "goldenrod", "sienna"), "^"),
    "5": (("tab:red", "darkred", "crimson"), "v"),
    "error": (("black", "dimgray", "tab:purple"), "x"),
}
TITLE_TARGET_CHARS = 70


def describe_label(label: str) -> str:
    """``404 Not Found`` for a status code; the error name otherwise."""
    if label.isdigit():
        try:
            return f"{label} {http.HTTPStatus(int(label)).phrase}"
        except ValueError:
            return label
    return label


def styles(labels: list[str]) -> dict[str, tuple[str, str]]:
    """(colour, marker) per outcome label: distinct within a status class."""
    used: dict[str, int] = {}
    found = {}
    for label in labels:
        kind = label[0] if label.isdigit() and label[0] in CLASS_STYLE else "error"
        colours, marker = CLASS_STYLE[kind]
        found[label] = (colours[used.get(kind, 0) % len(colours)], marker)
        used[kind] = used.get(kind, 0) + 1
    return found


def visible_span(start: float, end: float, axis_width: float) -> tuple[float, float]:
    """``(start, end)`` widened around its middle to at least MIN_SPAN_FRACTION of the axis."""
    least = axis_width * MIN_SPAN_FRACTION
    if end - start >= least:
        return start, end
    middle = (start + end) / 2
    return middle - least / 2, middle + least / 2


def fault_window(marks: list[dict[str, Any]], last_t: float) -> tuple[float, float, bool] | None:
    """(from, to, ended) of the fault being in force: from the injection to its recovery (or to
    when a fault without revert settled); to the end of probing when it was left in force."""
    times = {m["name"]: m["t"] for m in marks}
    if "inject" not in times:
        return None
    for end in ("recover", "settled"):
        if end in times:
            return times["inject"], times[end], True
    return times["inject"], max(last_t, times["inject"]), False


def title_text(fault: str | None, targets: list[str] | None) -> str:
    if not fault:
        return "steady-state probe"
    target = (targets or ["(no target)"])[0]
    if len(target) > TITLE_TARGET_CHARS:
        target = target[: TITLE_TARGET_CHARS - 3] + "..."
    more = f" (+{len(targets) - 1} more)" if targets and len(targets) > 1 else ""
    return f"reslab inject {fault}: {target}{more}"


def _num(value: Any, unit: str, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


def timeline_figure(
    probe_data: dict[str, Any],
    summary: dict[str, Any],
    fault: str | None = None,
    targets: list[str] | None = None,
) -> Figure:
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    samples = [Sample(**s) for s in probe_data["samples"]]
    marks = probe_data.get("marks", [])
    labels_by_count: dict[str, list[Sample]] = {}
    for sample in samples:
        labels_by_count.setdefault(outcome_label(sample), []).append(sample)
    # rows bottom-up: errors, 5xx, 4xx, 3xx, 2xx (success on top, as "up")
    order = sorted(labels_by_count, key=lambda x: (x.isdigit(), -int(x) if x.isdigit() else 0))
    style = styles(order)
    last_t = max((s.t for s in samples), default=0.0) + float(probe_data.get("interval_s", 0.0))
    first_t = min((s.t for s in samples), default=0.0)
    axis_width = max(last_t - first_t, 1e-9)

    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 2]})
    before = (summary.get("steady_state") or {}).get("before") or {}
    forced = "  [steady state NOT met before: --force]" if before.get("forced") else ""
    fig.suptitle(title_text(fault, targets) + forced, fontsize="large", fontweight="bold")
    avail = summary.get("availability")
    top.set_title(
        f"{probe_data['url']}: availability {_num(avail, ' %', 2)}, "
        f"downtime {_num(summary.get('downtime_s'), ' s', 1)}, "
        f"time to recover {_num(summary.get('time_to_recover_s'), ' s', 1)}",
        fontsize="medium",
    )
    window = fault_window(marks, last_t)
    if window is not None:
        start, end, ended = window
        shown = visible_span(start, end, axis_width)
        name = fault or "fault"
        label = f"{name} in force ({end - start:.1f} s{'' if ended else ', still in force'})"
        for axis in (top, bottom):
            axis.axvspan(*shown, color=FAULT_COLOUR, alpha=0.12, label=label, gid="fault")
            label = "_nolegend_"
    outages = summary.get("outages", [])
    for index, outage in enumerate(outages):
        shown = visible_span(outage["start"], outage["end"], axis_width)
        total = sum(o["duration_s"] for o in outages)
        label = f"outage ({len(outages)}, {total:.1f} s in all)" if index == 0 else "_nolegend_"
        for axis in (top, bottom):
            axis.axvspan(*shown, color=OUTAGE_COLOUR, alpha=0.25, label=label, gid="outage")
            label = "_nolegend_"
    for row, name in enumerate(order):
        colour, marker = style[name]
        seen = labels_by_count[name]
        legend = f"{describe_label(name)} x{len(seen)}"
        top.scatter([s.t for s in seen], [row] * len(seen), marker=marker, color=colour,
                    s=18, label=legend, gid=f"status-{name}")  # fmt: skip
        bottom.scatter([s.t for s in seen], [s.latency_ms for s in seen], marker=marker,
                       color=colour, s=12, gid=f"latency-{name}")  # fmt: skip
    top.set_yticks(range(len(order)), [describe_label(x) for x in order])
    top.set_ylim(-0.6, max(len(order), 1) - 0.4)
    top.set_xlim(first_t - axis_width * 0.01, last_t + axis_width * 0.01)
    good = sorted((s for s in samples if s.ok), key=lambda s: s.t)
    if good:
        bottom.plot([s.t for s in good], [s.latency_ms for s in good], color="tab:blue",
                    linewidth=0.6, alpha=0.6, label="latency of successful requests")  # fmt: skip
    bottom.set_ylabel("latency (ms)")
    bottom.set_xlabel("seconds since probing started")
    _marks(marks, top, bottom)
    _legend(top)
    _legend(bottom)
    fig.tight_layout()
    return fig


def _marks(marks: list[dict[str, Any]], top: Axes, bottom: Axes) -> None:
    for mark in marks:
        colour, label = MARK_STYLE.get(mark["name"], ("tab:gray", mark["name"]))
        for axis in (top, bottom):
            axis.axvline(mark["t"], color=colour, linestyle="--", linewidth=1.2)
        bottom.annotate(
            label,
            (mark["t"], 1),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="top",
            ha="right",
            color=colour,
        )


def _legend(axis: Axes) -> None:
    """A legend right of the axis (never over the data), only when something has a label."""
    handles, labels = axis.get_legend_handles_labels()
    if handles:
        axis.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")


def write_timeline(
    probe_data: dict[str, Any],
    summary: dict[str, Any],
    path: Path,
    fault: str | None = None,
    targets: list[str] | None = None,
) -> Path:
    fig = timeline_figure(probe_data, summary, fault, targets)
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
