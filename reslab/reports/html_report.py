"""The report as one self-contained HTML page (inline CSS, no scripts); every value is escaped.

What a backup auditor reads first: the verdict banner ("PASS, 1 check skipped"), which
database's backup was checked, and for each failed check a sentence saying why
(``reslab.reports.explain``). Lists are rendered as lists; the timings say what each step
measured and when it ran (steps that overlap ran at the same time).
"""

from __future__ import annotations

from html import escape
from typing import Any

from reslab.checks.catalogue import spec_for
from reslab.checks.model import REPORT_SCHEMA_VERSION, CheckReport, CheckResult, Timing
from reslab.checks.runner import STEPS
from reslab.reports.explain import explain

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330}
main{max-width:1100px;margin:0 auto;padding:1.5rem}
.banner{padding:1.25rem 1.5rem;color:#fff;font-size:1.5rem;font-weight:600}
.banner.pass{background:#1f7a3d}.banner.fail{background:#b42318}
.banner small{display:block;font-size:.95rem;font-weight:400;opacity:.9}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;margin:1rem 0;font-size:.9rem}
th,td{border:1px solid #d0d5dd;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f4f7}td.v{font-family:ui-monospace,monospace;overflow-wrap:anywhere;max-width:22rem}
td.v ul{margin:0;padding-left:1.1rem}td.n{text-align:right;white-space:nowrap}
tr.fail td{background:#fef3f2}tr.skip td{background:#fffaeb}.status{font-weight:700}
.pass .status{color:#1f7a3d}.fail .status{color:#b42318}.skip .status{color:#93370d}
.why{font-weight:600}.bar{background:#d0d5dd;height:.8rem;min-width:2px}
p.note{color:#475467;font-size:.9rem}
"""

_CHECK_COLUMNS = ("status", "check", "measured", "expected", "why / details")
#: Lists longer than this are folded under a "N items" summary (no script needed).
_FOLD_AFTER = 8


def render_html(report: CheckReport | dict[str, Any]) -> str:
    """The page of a report, or of its JSON (any layout version this package reads)."""
    run, layout = None, REPORT_SCHEMA_VERSION
    if isinstance(report, dict):
        run, layout = report.get("run"), report.get("schema_version", 1)
        report = CheckReport.from_dict(report)
    instance = report.source_instance or (run or {}).get("instance")
    verdict = report.verdict
    title = f"Backup check {_banner(report)}"
    subject = instance or report.source or report.target
    checks = "\n".join(_check_row(c) for c in _by_severity(report.checks))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)} - {_e(subject)}</title>
<style>{_CSS}</style></head>
<body>
<div class="banner {_e(verdict)}">{_e(title)}
<small>{_e(_counts(report))}</small></div>
<main>
<dl class="facts">
{"".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in _facts(report, instance, layout).items())}
</dl>
<h2>Checks</h2>
<table><thead><tr>{"".join(f"<th>{c}</th>" for c in _CHECK_COLUMNS)}</tr></thead>
<tbody>
{checks}
</tbody></table>
{_timings(report)}
</main></body></html>
"""


def _banner(report: CheckReport) -> str:
    """``PASS``, ``PASS, 1 check skipped`` or ``FAIL``."""
    skipped = len(report.skipped)
    if report.verdict == "fail" or not skipped:
        return report.verdict.upper()
    return f"PASS, {_plural(skipped, 'check')} skipped"


def _counts(report: CheckReport) -> str:
    parts = [f"{sum(c.passed for c in report.checks)} passed", f"{len(report.failures)} failed"]
    if report.skipped:
        parts.append(f"{len(report.skipped)} skipped (not run: never counted as passed)")
    return f"{_plural(len(report.checks), 'check')}: " + ", ".join(parts)


def _facts(report: CheckReport, instance: str | None, layout: int) -> dict[str, Any]:
    return {
        "Source instance": instance or "-",
        "Compared with": report.source or _COMPARISONS.get(report.comparison, report.comparison),
        "Restored copy checked": report.target,
        "Snapshot": report.snapshot_id or "-",
        "Snapshot taken": report.snapshot_time or "-",
        "Engine": report.engine,
        "Checked": f"{report.started_at} to {report.finished_at}",
        "Report layout": f"version {layout}",
    }


_COMPARISONS = {
    "previous": "the previous verified backup's fingerprint",
    "none": "nothing (values recorded for the next run)",
}


def _by_severity(checks: tuple[CheckResult, ...]) -> list[CheckResult]:
    order = {"fail": 0, "skip": 1, "pass": 2}
    return sorted(checks, key=lambda c: order[c.status])


def _check_row(c: CheckResult) -> str:
    why = explain(c)
    cell = f'<span class="why">{_e(why)}</span>' if why else _e(c.details)
    if why and c.details and c.failed and c.details not in why:
        cell += f"<br>{_e(c.details)}"
    return (
        f'<tr class="{_e(c.status)}"><td class="status">{_e(c.status.upper())}</td>'
        f'<td title="{_e(_description(c.name))}">{_e(c.name)}</td>'
        f'<td class="v">{_value(c.measured)}</td>'
        f'<td class="v">{_value(c.expected)}</td><td>{cell}</td></tr>'
    )


def _description(name: str) -> str:
    """What the check proves (its catalogue row), shown when the reader points at its name."""
    spec = spec_for(name)
    return spec.description if spec else ""


def _value(value: Any) -> str:
    """A measured or expected value: lists as lists, mappings as ``key: value`` lists."""
    if value is None:
        return "-"
    if isinstance(value, dict):
        value = [f"{k}: {v}" for k, v in value.items()]
    if not isinstance(value, list):
        return _e(value)
    items = "".join(f"<li>{_e(v)}</li>" for v in value)
    if len(value) <= _FOLD_AFTER:
        return f"<ul>{items}</ul>" if value else "(none)"
    return f"<details><summary>{len(value)} items</summary><ul>{items}</ul></details>"


def _timings(report: CheckReport) -> str:
    timings = report.timings
    if not timings:
        return ""
    total = _total_seconds(timings)
    rows = "\n".join(_timing_row(t, total) for t in timings)
    overlap = any(
        a.start is not None and b.start is not None and b.start < a.start + a.seconds
        for a, b in zip(timings, timings[1:], strict=False)
    )
    note = (
        " Steps whose bars overlap ran at the same time, on separate database connections."
        if overlap
        else ""
    )
    return f"""<h2>Timings</h2>
<p class="note">Wall-clock time of each step of the check, {total:.3f} s in all.{note}</p>
<table><thead><tr><th>step</th><th>what it measures</th><th>began at (s)</th>
<th>took (s)</th><th style="width:30%">when</th></tr></thead>
<tbody>
{rows}
</tbody></table>"""


def _total_seconds(timings: tuple[Timing, ...]) -> float:
    if any(t.start is None for t in timings):  # layout 1: steps ran one after the other
        return sum(t.seconds for t in timings)
    return max((t.start or 0.0) + t.seconds for t in timings)


def _timing_row(t: Timing, total: float) -> str:
    began = "-" if t.start is None else f"{t.start:.3f}"
    bar = ""
    if t.start is not None and total > 0:
        left, width = 100 * t.start / total, 100 * t.seconds / total
        bar = f'<div class="bar" style="margin-left:{left:.1f}%;width:{width:.1f}%"></div>'
    return (
        f"<tr><td>{_e(t.step)}</td><td>{_e(STEPS.get(t.step, ''))}</td>"
        f'<td class="n">{began}</td><td class="n">{t.seconds:.3f}</td><td>{bar}</td></tr>'
    )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)
