"""The report as one self-contained HTML page (inline CSS, no scripts); every value is escaped."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from reslab.checks.catalogue import spec_for
from reslab.checks.model import CheckReport
from reslab.reports.json_report import report_dict

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330}
main{max-width:1100px;margin:0 auto;padding:1.5rem}
.banner{padding:1.25rem 1.5rem;color:#fff;font-size:1.5rem;font-weight:600}
.banner.pass{background:#1f7a3d}.banner.fail{background:#b42318}
.banner small{display:block;font-size:.95rem;font-weight:400;opacity:.9}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}
dt{font-weight:600}dd{margin:0;word-break:break-all}
table{border-collapse:collapse;width:100%;margin:1rem 0;font-size:.9rem}
th,td{border:1px solid #d0d5dd;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f4f7}td.v{font-family:ui-monospace,monospace;word-break:break-all;max-width:22rem}
tr.fail td{background:#fef3f2}.status{font-weight:700}.pass .status{color:#1f7a3d}
.fail .status{color:#b42318}
"""

_CHECK_COLUMNS = ("status", "check", "measured", "expected", "details")


def render_html(report: CheckReport | dict[str, Any]) -> str:
    data = report_dict(report)
    verdict = str(data["verdict"])
    summary = data.get("summary", {})
    snapshot = data.get("snapshot") or {}
    facts = {
        "Snapshot id": snapshot.get("id"),
        "Snapshot time": snapshot.get("time"),
        "Target": data.get("target"),
        "Compared with": data.get("source") or data.get("comparison"),
        "Engine": data.get("engine"),
        "Started": data.get("started_at"),
        "Finished": data.get("finished_at"),
        "Report schema": data.get("schema_version"),
    }
    rows = "\n".join(_check_row(c) for c in _failures_first(data["checks"]))
    timings = "\n".join(
        f"<tr><td>{_e(t['step'])}</td><td>{_e(format(t['seconds'], '.3f'))}</td></tr>"
        for t in data.get("timings", [])
    )
    title = f"Restore check {verdict.upper()}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)} - {_e(snapshot.get("id") or data.get("target"))}</title>
<style>{_CSS}</style></head>
<body>
<div class="banner {_e(verdict)}">{_e(title)}
<small>{_e(summary.get("passed"))} of {_e(summary.get("total"))} checks passed,
{_e(summary.get("failed"))} failed</small></div>
<main>
<dl>
{"".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts.items())}
</dl>
<h2>Checks</h2>
<table><thead><tr>{"".join(f"<th>{c}</th>" for c in _CHECK_COLUMNS)}</tr></thead>
<tbody>
{rows}
</tbody></table>
<h2>Timings</h2>
<table><thead><tr><th>step</th><th>seconds</th></tr></thead>
<tbody>
{timings}
</tbody></table>
</main></body></html>
"""


def _failures_first(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(checks, key=lambda c: c["status"] == "pass")


def _check_row(c: dict[str, Any]) -> str:
    status = "pass" if c["status"] == "pass" else "fail"
    return (
        f'<tr class="{status}"><td class="status">{_e(c["status"].upper())}</td>'
        f'<td title="{_e(_description(c["name"]))}">{_e(c["name"])}</td>'
        f'<td class="v">{_e(_show(c.get("measured")))}</td>'
        f'<td class="v">{_e(_show(c.get("expected")))}</td><td>{_e(c.get("details"))}</td></tr>'
    )


def _description(name: str) -> str:
    """What the check proves (its catalogue row), shown when the reader points at its name."""
    spec = spec_for(name)
    return spec.description if spec else ""


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)
