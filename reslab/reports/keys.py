"""S3 key layout: ``reports/<instance>/<timestamp>/report.json`` (and ``report.html``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
EXTENSIONS = ("json", "html")


def key_timestamp(timestamp: datetime | str) -> str:
    """``20260123T104500Z`` for a datetime (naive = UTC); a safe string passes unchanged."""
    if isinstance(timestamp, datetime):
        aware = timestamp.replace(tzinfo=UTC) if timestamp.tzinfo is None else timestamp
        return aware.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return _safe("timestamp", timestamp)


def report_key(instance: str, timestamp: datetime | str, ext: str = "json") -> str:
    if ext not in EXTENSIONS:
        raise ValueError(f"ext must be one of {', '.join(EXTENSIONS)}")
    return f"reports/{_safe('instance', instance)}/{key_timestamp(timestamp)}/report.{ext}"


def report_keys(instance: str, timestamp: datetime | str) -> dict[str, str]:
    """Both keys of one run: ``{"json": ..., "html": ...}``."""
    return {ext: report_key(instance, timestamp, ext) for ext in EXTENSIONS}


def _safe(what: str, value: str) -> str:
    if not _SAFE.match(value) or ".." in value:
        raise ValueError(f"{what} {value!r} is not safe in an S3 key (letters, digits, . _ -)")
    return value
