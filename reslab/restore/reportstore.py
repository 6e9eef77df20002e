"""Reports in the report bucket (layout: ``reslab.reports.keys``): each run writes its
``report.json``, ``report.html`` and ``fingerprint.json``; the newest earlier fingerprint of an
instance is the "previous" of its next run.

Only the checks Lambda writes reports, and only its zip carries ``reslab.reports`` and
``reslab.checks``: they are imported where they are used, so that every restore Lambda can
import this module.
"""

from __future__ import annotations

import json
from typing import Any

from reslab.restore import aws
from reslab.restore.errors import ReportWriteFailed


class ReportStore:
    def __init__(self, run: dict[str, Any]) -> None:
        from reslab.reports.keys import run_prefix

        self.run = run
        self.bucket = run["report_bucket"]
        self.s3 = aws.client("s3", run)
        self.prefix = run_prefix(run["instance"], run["timestamp"])

    def previous_fingerprint(self) -> Any:
        """The newest earlier fingerprint of this instance, or None."""
        from reslab.checks.model import Fingerprint
        from reslab.reports.keys import FINGERPRINT_FILE, list_run_objects, listing_prefix

        instance = self.run["instance"]
        try:
            earlier = [
                run
                for run in list_run_objects(self.s3, self.bucket, instance, FINGERPRINT_FILE)
                if not run.key.startswith(self.prefix)
            ]
            if not earlier:
                return None
            body = self.s3.get_object(Bucket=self.bucket, Key=earlier[0].key)["Body"].read()
        except Exception as exc:
            raise ReportWriteFailed(
                f"reading s3://{self.bucket}/{listing_prefix(instance)} failed: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        try:
            return Fingerprint.from_dict(json.loads(body))
        except (ValueError, KeyError, TypeError):
            return None  # an older layout: compare without it

    def write(self, report: Any, restored_fp: Any, snapshot: dict[str, Any]) -> str:
        """Write JSON + HTML + fingerprint; returns the report's s3:// URI."""
        from reslab.reports import render_html, render_json
        from reslab.reports.keys import FINGERPRINT_FILE, REPORT_FILES

        meta = {
            "instance": self.run["instance"],
            "temporary_instance": self.run["temp_instance"],
            "snapshot": {k: snapshot.get(k) for k in ("id", "type", "created")},
            "timestamp": self.run["timestamp"],
        }
        objects = {
            REPORT_FILES["json"]: (_with_meta(render_json(report), meta), "application/json"),
            REPORT_FILES["html"]: (render_html(report), "text/html; charset=utf-8"),
            FINGERPRINT_FILE: (json.dumps(restored_fp.to_dict(), indent=1), "application/json"),
        }
        try:
            for name, (body, content_type) in objects.items():
                self.s3.put_object(
                    Bucket=self.bucket,
                    Key=self.prefix + name,
                    Body=body.encode("utf-8"),
                    ContentType=content_type,
                    ServerSideEncryption="AES256",
                )
        except Exception as exc:
            raise ReportWriteFailed(
                f"writing s3://{self.bucket}/{self.prefix} failed: {type(exc).__name__}: {exc}"
            ) from None
        return f"s3://{self.bucket}/{self.prefix}{REPORT_FILES['json']}"


def _with_meta(text: str, meta: dict[str, Any]) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if isinstance(data, dict):
        data.setdefault("run", meta)
    return json.dumps(data, indent=1, sort_keys=True)
