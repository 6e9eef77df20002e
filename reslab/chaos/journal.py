"""The injection journal: every injection is written down BEFORE it changes anything.

One JSON file per injection under ``.reslab/journal/`` (atomically replaced on every update),
mirrored to the lab's report bucket when running on AWS. ``reslab recover`` reads it to undo what a
crashed or interrupted command left behind.

Status: ``pending`` (written, changes may be partial) -> ``injected`` -> ``reverted``;
``done`` for failures that cannot be undone (terminated instances, a failover).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from reslab.chaos.errors import JournalError

JOURNAL_DIR = Path(".reslab") / "journal"
BUCKET_PREFIX = "reslab/journal/"
ACTIVE = ("pending", "injected")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Entry:
    id: str
    fault: str
    region: str
    workshop: str
    stack_prefix: str
    endpoint_url: str | None
    status: str = "pending"
    created: str = field(default_factory=_now)
    updated: str = field(default_factory=_now)
    targets: list[str] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    calls_done: int = 0
    undo: dict[str, Any] = field(default_factory=dict)
    saved: dict[str, str] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entry:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


class Mirror(Protocol):
    def put(self, entry: Entry) -> None: ...
    def entries(self) -> list[Entry]: ...


class BucketMirror:
    """Copies of the journal in the report bucket (``reslab/journal/<id>.json``)."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket

    def put(self, entry: Entry) -> None:
        self.s3.put_object(
            Bucket=self.bucket,
            Key=f"{BUCKET_PREFIX}{entry.id}.json",
            Body=json.dumps(asdict(entry), indent=2).encode(),
            ContentType="application/json",
        )

    def entries(self) -> list[Entry]:
        out = []
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=BUCKET_PREFIX
        )
        for page in pages:
            for obj in page.get("Contents", []):
                body = self.s3.get_object(Bucket=self.bucket, Key=obj["Key"])["Body"].read()
                out.append(Entry.from_dict(json.loads(body)))
        return out


class Journal:
    def __init__(self, directory: Path | None = None, mirror: Mirror | None = None) -> None:
        self.directory = directory or (Path.cwd() / JOURNAL_DIR)
        self.mirror = mirror

    def new_id(self, fault: str) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return f"{stamp}-{fault}-{secrets.token_hex(3)}"

    def path(self, entry_id: str) -> Path:
        return self.directory / f"{entry_id}.json"

    def save(self, entry: Entry) -> None:
        """Write the entry durably (temp file + fsync + rename), then mirror it (best effort)."""
        entry.updated = _now()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = self.path(entry.id).with_suffix(".json.tmp")
            with tmp.open("w") as handle:
                json.dump(asdict(entry), handle, indent=2)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path(entry.id))
        except OSError as exc:
            raise JournalError(f"cannot write journal {self.directory}: {exc}") from exc
        if self.mirror is not None:
            try:
                self.mirror.put(entry)
            except Exception as exc:  # noqa: BLE001 - the local file is the source of truth
                print(f"warning: journal mirror failed: {exc}", file=sys.stderr)

    def entries(self) -> list[Entry]:
        """All entries, local and mirrored; the most recently updated copy of each wins."""
        found: dict[str, Entry] = {}
        if self.directory.is_dir():
            for path in sorted(self.directory.glob("*.json")):
                try:
                    entry = Entry.from_dict(json.loads(path.read_text()))
                except (OSError, ValueError, TypeError) as exc:
                    print(f"warning: unreadable journal file {path}: {exc}", file=sys.stderr)
                    continue
                found[entry.id] = entry
        if self.mirror is not None:
            try:
                for entry in self.mirror.entries():
                    known = found.get(entry.id)
                    if known is None or entry.updated > known.updated:
                        found[entry.id] = entry
            except Exception as exc:  # noqa: BLE001
                print(f"warning: cannot read the journal mirror: {exc}", file=sys.stderr)
        return sorted(found.values(), key=lambda e: e.created)

    def active(self, fault: str | None = None, workshop: str | None = None) -> list[Entry]:
        return [
            e
            for e in self.entries()
            if e.active
            and (fault is None or e.fault == fault)
            and (workshop is None or e.workshop == workshop)
        ]
