"""Per-target results of fleet runs: ``.reslab/fleet/<targets file stem>.json``.

``{"targets": {<target key>: {"row", "label", "action", "status", "error", "message",
"elapsed", "execution", "finished_at"}}}``. A rerun of an action skips the targets whose last
record is that action with status ``succeeded`` (``--all`` runs every target).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from reslab.fleet.targets import Target

STATE_DIR = Path(".reslab") / "fleet"
SUCCEEDED, FAILED = "succeeded", "failed"


@dataclass
class Record:
    row: int
    label: str
    action: str
    status: str
    error: str = ""
    message: str = ""
    elapsed: float = 0.0
    execution: str = ""
    finished_at: str = ""


def state_path(targets_file: Path, base: Path | None = None) -> Path:
    return (base or Path.cwd()) / STATE_DIR / f"{targets_file.stem}.json"


class FleetState:
    """Thread-safe; every record is written to disk as soon as it is set (a crash loses none)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.records: dict[str, Record] = {}
        try:
            data = json.loads(path.read_text())
            self.records = {k: Record(**v) for k, v in data.get("targets", {}).items()}
        except (OSError, ValueError, TypeError):
            self.records = {}

    def done(self, target: Target, action: str) -> bool:
        record = self.records.get(target.key)
        return record is not None and record.action == action and record.status == SUCCEEDED

    def pending(self, targets: list[Target], action: str, everything: bool) -> list[Target]:
        return [t for t in targets if everything or not self.done(t, action)]

    def set(self, target: Target, record: Record) -> None:
        with self._lock:
            self.records[target.key] = record
            self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data: dict[str, Any] = {"targets": {k: asdict(v) for k, v in self.records.items()}}
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        tmp.replace(self.path)
