"""Post a message to a Slack incoming webhook, retrying with exponential backoff.

The webhook URL is a secret: callers read it from an SSM SecureString parameter and pass it in;
it is never logged (errors name only the HTTP status).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

#: Worth retrying: rate limits and server errors (Slack documents 429 with Retry-After).
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class SlackError(Exception):
    """The webhook did not accept the message."""


@dataclass(frozen=True)
class Delivery:
    ok: bool
    attempts: int
    status: int | None
    detail: str = ""


def post(
    webhook_url: str,
    payload: dict[str, Any],
    *,
    attempts: int = 4,
    backoff: float = 0.5,
    timeout: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST ``payload`` as JSON; retry transient failures (``backoff`` doubles each time)."""
    status: int | None = None
    detail = ""
    for attempt in range(1, attempts + 1):
        try:
            response = requests.post(webhook_url, json=payload, timeout=timeout)
            status = response.status_code
            if 200 <= status < 300:
                return Delivery(True, attempt, status)
            detail = f"HTTP {status}"
            if status not in RETRY_STATUSES:
                break
            wait = _retry_after(response) or backoff * 2 ** (attempt - 1)
        except requests.RequestException as exc:
            status, detail = None, type(exc).__name__
            wait = backoff * 2 ** (attempt - 1)
        if attempt < attempts:
            sleep(min(wait, 30.0))
    return Delivery(False, attempt, status, detail)


def _retry_after(response: Any) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


def message(title: str, ok: bool, fields: dict[str, str], text: str = "") -> dict[str, Any]:
    """A Slack Block Kit message with a plain-text fallback."""
    icon = ":white_check_mark:" if ok else ":x:"
    lines = [f"*{k}:* {v}" for k, v in fields.items() if v]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{icon} *{title}*"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines) or "-"}},
    ]
    if text:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text[:2900]}]})
    return {"text": f"{title}", "blocks": blocks}
