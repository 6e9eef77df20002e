"""The report as JSON (layout documented in docs/checks.md, versioned by ``schema_version``)."""

from __future__ import annotations

import json
from typing import Any

from reslab.checks.model import CheckReport


def report_dict(report: CheckReport | dict[str, Any]) -> dict[str, Any]:
    """The report's JSON document; a dict (an already rendered report) passes through."""
    return report if isinstance(report, dict) else report.to_dict()


def render_json(report: CheckReport | dict[str, Any], *, indent: int | None = 2) -> str:
    return json.dumps(report_dict(report), indent=indent, default=str, ensure_ascii=False) + "\n"
