"""``.reslab/local.json``: how other reslab commands find a running ``reslab local up``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

STATE_FILE = Path(".reslab") / "local.json"


def state_path(base: Path | None = None) -> Path:
    return (base or Path.cwd()) / STATE_FILE


def write_state(endpoint_url: str, base: Path | None = None, backing: str | None = None) -> Path:
    """``backing``: what backs the cloud's RDS instances (:func:`backing_label`), so a command
    reusing the cloud can tell whether it suits the lab (the DMS mode needs private MySQL)."""
    path = state_path(base)
    path.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, object] = {"endpoint": endpoint_url, "pid": os.getpid()}
    if backing:
        data["backing"] = backing
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def backing_label(db_url: str | None) -> str:
    """``embedded`` (no ``--db-url``), ``private-mysql``, else the URL's scheme only (a URL may
    hold a password, which has no place in the state file)."""
    if not db_url:
        return "embedded"
    return db_url.split("://", 1)[0] if "://" in db_url else db_url


def running_backing(base: Path | None = None) -> str | None:
    """The running cloud's backing as ``reslab local up`` recorded it (None: not recorded)."""
    try:
        value = json.loads(state_path(base).read_text()).get("backing")
    except (OSError, ValueError, AttributeError):
        return None
    return str(value) if value else None


def clear_state(base: Path | None = None) -> None:
    path = state_path(base)
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def process_exists(pid: int) -> bool:
    """Whether a process with this id exists (a zombie counts), ours or not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _answers(endpoint: str) -> bool:
    try:
        with urlopen(f"{endpoint}/moto-api/config", timeout=2):  # noqa: S310 - local URL
            return True
    except (URLError, OSError):
        return False


def discover(base: Path | None = None) -> str | None:
    """Endpoint URL of a running ``reslab local up`` (found via .reslab/local.json), else None."""
    try:
        data = json.loads(state_path(base).read_text())
        endpoint, pid = str(data["endpoint"]), int(data["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not process_exists(pid) or not _answers(endpoint):
        return None
    return endpoint
