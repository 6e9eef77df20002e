"""Reports in the report bucket: ``reports/<instance>/<timestamp>/`` holds ``report.json``,
``report.html`` and ``fingerprint.json``; the newest earlier ``fingerprint.json`` of an instance is
the "previous" of the next run.
"""

from __future__ import annotations

import json
from typing import Any

from reslab.restore import aws
from reslab.restore.errors import ReportWriteFailed

PREFIX = "reports"
REPORT_JSON = "report.json"
REPORT_HTML = "report.html"
FINGERPRINT = "fingerprint.json"


def report_prefix(instance: str, stamp: str) -> str:
    try:
        from reslab.reports import report_key
    except ImportError:  # the reports package is optional in a minimal zip
        return f"{PREFIX}/{instance}/{stamp}/"
    key = str(report_key(instance, stamp))
    return key if key.endswith("/") else key.rsplit("/", 1)[0] + "/"


class ReportStore:
    def __init__(self, run: dict[str, Any]) -> None:
        self.run = run
        self.bucket = run["report_bucket"]
        self.s3 = aws.client("s3", run)
        self.prefix = report_prefix(run["instance"], run["timestamp"])

    def previous_fingerprint(self) -> Any:
        """The newest earlier fingerprint of this instance, or None."""
        from reslab.checks.model import Fingerprint

        base = f"{PREFIX}/{self.run['instance']}/"
        try:
            keys = [
                obj["Key"]
                for page in self.s3.get_paginator("list_objects_v2").paginate(
                    Bucket=self.bucket, Prefix=base
                )
                for obj in page.get("Contents", [])
                if obj["Key"].endswith("/" + FINGERPRINT) and not obj["Key"].startswith(self.prefix)
            ]
            if not keys:
                return None
            body = self.s3.get_object(Bucket=self.bucket, Key=max(keys))["Body"].read()
        except Exception as exc:
            raise ReportWriteFailed(
                f"reading s3://{self.bucket}/{base} failed: {type(exc).__name__}: {exc}"
            ) from None
        try:
            return Fingerprint.from_dict(json.loads(body))
        except (ValueError, KeyError, TypeError):
            return None  # an older layout: compare without it

    def write(self, report: Any, restored_fp: Any, snapshot: dict[str, Any]) -> str:
        """Write JSON + HTML + fingerprint; returns the report's s3:// URI."""
        from reslab.reports import render_html, render_json

        meta = {
            "instance": self.run["instance"],
            "temporary_instance": self.run["temp_instance"],
            "snapshot": {k: snapshot.get(k) for k in ("id", "type", "created")},
            "timestamp": self.run["timestamp"],
        }
        objects = {
            REPORT_JSON: (_with_meta(render_json(report), meta), "application/json"),
            REPORT_HTML: (render_html(report), "text/html; charset=utf-8"),
            FINGERPRINT: (json.dumps(restored_fp.to_dict(), indent=1), "application/json"),
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
        return f"s3://{self.bucket}/{self.prefix}{REPORT_JSON}"


def _with_meta(text: str, meta: dict[str, Any]) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if isinstance(data, dict):
        data.setdefault("run", meta)
    return json.dumps(data, indent=1, sort_keys=True)
