"""Report rendering (JSON and self-contained HTML) and the S3 key layout; stdlib only."""

from reslab.reports.html_report import render_html
from reslab.reports.json_report import render_json
from reslab.reports.keys import report_key, report_keys

__all__ = ["render_html", "render_json", "report_key", "report_keys"]
