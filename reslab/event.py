"""The deployment event on the reslab side: the same validator the first Lambda runs, plus defaults.

The validation code lives in ``reslab_lambda.event`` (lambdas/shared), which every Lambda zip
carries; this module re-exports it so there is one source for both.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reslab.errors import InvalidEvent
from reslab_lambda import errors as lambda_errors
from reslab_lambda.event import EVENT_KEYS, KEYS_BY_NAME, event_problems
from reslab_lambda.event import validate_event as _validate

__all__ = ["EVENT_KEYS", "KEYS_BY_NAME", "event_problems", "load_event", "local_event"]

#: Defaults for a laptop run: regions of the builders guide, short polls, one made-up bucket.
LOCAL_DEFAULTS: dict[str, Any] = {
    "log_level": "INFO",
    "region_name": "us-east-2",
    "secondary_region_name": "us-west-2",
    "workshop": "reslab-local",
    "cfn_region": "us-east-2",
    "folder": "cloudformation/",
    "boot_prefix": "bootstrap/",
    "boot_object": "bootstrap.sh",
    "websiteimage": "",
    "poll_seconds": 1,
}


def validate_event(raw: Any) -> dict[str, Any]:
    """Normalised event; raises reslab's ``InvalidEvent`` (same message as the Lambda's)."""
    try:
        return _validate(raw)
    except lambda_errors.InvalidEvent as exc:
        raise InvalidEvent(str(exc)) from None


def local_event(install_name: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """A complete event for the local cloud: buckets named after the install, then overrides."""
    event = dict(LOCAL_DEFAULTS)
    event["cfn_bucket"] = f"{install_name}-cfn"
    event["boot_bucket"] = f"{install_name}-boot"
    event.update(overrides or {})
    return event


def load_event(path: Path) -> dict[str, Any]:
    """Read an event file (a JSON object in UTF-8). A file that is missing, unreadable, not
    UTF-8, not JSON or not an object is an ``InvalidEvent`` naming the file, never a traceback."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidEvent(f"event: cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InvalidEvent(f"event: {path} is not UTF-8 text (byte {exc.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidEvent(f"event: {path} is not JSON ({exc})") from None
    except RecursionError:
        raise InvalidEvent(f"event: {path} nests too deeply to be an event") from None
    if not isinstance(data, dict):
        raise InvalidEvent(f"event: {path} must hold a JSON object, not {type(data).__name__}")
    return data
