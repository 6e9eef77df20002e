"""The report bucket's key layout, defined once: ``reports/<instance>/<timestamp>/`` holds one
run's ``report.json``, ``report.html`` and ``fingerprint.json``.

Written by the restore machine (``reslab.restore.reportstore``), listed by ``reslab reports``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

ROOT = "reports"
#: The report of one run, by format.
REPORT_FILES = {"json": "report.json", "html": "report.html"}
#: The restored data's fingerprint: the ``previous`` of the instance's next run.
FINGERPRINT_FILE = "fingerprint.json"


@dataclass(frozen=True)
class RunObject:
    """One object of one run: ``reports/<instance>/<timestamp>/<file>``."""

    instance: str
    timestamp: str
    file: str

    @property
    def key(self) -> str:
        return f"{ROOT}/{self.instance}/{self.timestamp}/{self.file}"


def key_timestamp(timestamp: datetime | str) -> str:
    """``20260123T104500Z`` for a datetime (naive = UTC); a safe string passes unchanged."""
    if isinstance(timestamp, datetime):
        aware = timestamp.replace(tzinfo=UTC) if timestamp.tzinfo is None else timestamp
        return aware.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return _safe("timestamp", timestamp)


def run_prefix(instance: str, timestamp: datetime | str) -> str:
    """``reports/<instance>/<timestamp>/``: where one run's objects go (unsafe parts raise)."""
    return f"{ROOT}/{_safe('instance', instance)}/{key_timestamp(timestamp)}/"


def report_key(instance: str, timestamp: datetime | str, ext: str = "json") -> str:
    if ext not in REPORT_FILES:
        raise ValueError(f"ext must be one of {', '.join(REPORT_FILES)}")
    return run_prefix(instance, timestamp) + REPORT_FILES[ext]


def report_keys(instance: str, timestamp: datetime | str) -> dict[str, str]:
    """Both keys of one run: ``{"json": ..., "html": ...}``."""
    return {ext: report_key(instance, timestamp, ext) for ext in REPORT_FILES}


def listing_prefix(instance: str | None = None) -> str:
    """What to list: every run (``reports/``) or one instance's (``reports/<instance>/``)."""
    return f"{ROOT}/{instance}/" if instance else f"{ROOT}/"


def parse_key(key: str) -> RunObject | None:
    """The run object a key names, or None for a key outside the layout."""
    parts = key.split("/")
    if len(parts) != 4 or parts[0] != ROOT:
        return None
    return RunObject(*parts[1:])


def list_run_objects(s3: Any, bucket: str, instance: str | None, file: str) -> list[RunObject]:
    """The objects named ``file`` of every run (of ``instance``, or of all), newest first.

    ``s3`` is a boto3 S3 client (passed in: this package imports no AWS library)."""
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=listing_prefix(instance)
    )
    found = [
        run
        for page in pages
        for obj in page.get("Contents", [])
        if (run := parse_key(obj["Key"])) is not None and run.file == file
    ]
    return sorted(found, key=lambda run: run.timestamp, reverse=True)


_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _safe(what: str, value: str) -> str:
    if not _SAFE.match(value) or ".." in value:
        raise ValueError(f"{what} {value!r} is not safe in an S3 key (letters, digits, . _ -)")
    return value
