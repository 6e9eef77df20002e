"""The restore machine's Slack notification (the webhook URL comes from SSM, never the event)."""

from __future__ import annotations

import json
from typing import Any

from reslab import slack
from reslab.restore import aws
from reslab.restore.errors import NotificationFailed
from reslab_lambda.aws import error_code


def _cause_message(error: dict[str, Any]) -> str:
    cause = error.get("Cause") or ""
    try:
        data = json.loads(cause)
        return str(data.get("errorMessage", cause))
    except (ValueError, AttributeError):
        return str(cause)


def summary(state: dict[str, Any]) -> dict[str, Any]:
    """What the notification says (and what ``reslab verify-backup`` prints)."""
    run = state.get("run") or {}
    error = state.get("error") or {}
    checks = state.get("checks") or {}
    snap = state.get("snapshot_info") or {}
    ok = not error
    return {
        "ok": ok,
        "title": (
            f"Backup verification {'passed' if ok else 'FAILED'}: "
            f"{run.get('instance') or state.get('instance', '?')}"
        ),
        "fields": {
            "Error": error.get("Error", ""),
            "Snapshot": snap.get("id", ""),
            "Snapshot time": snap.get("created", ""),
            "Temporary instance": run.get("temp_instance", ""),
            "Report": checks.get("report", ""),
        },
        "text": _cause_message(error)[:1500] if error else _passed_text(checks),
    }


def _passed_text(checks: dict[str, Any]) -> str:
    """``12 checks passed`` or, when some could not run, ``PASS, 1 check skipped (...)``."""
    skipped = list(checks.get("skipped") or [])
    ran = int(checks.get("checks", 0)) - len(skipped)
    if not skipped:
        return f"{ran} checks passed"
    noun = "check" if len(skipped) == 1 else "checks"
    return f"PASS, {len(skipped)} {noun} skipped ({', '.join(skipped)}); {ran} checks passed"


def notify(state: dict[str, Any]) -> dict[str, Any]:
    run = state.get("run") or {}
    parameter = run.get("slack_webhook_parameter") or state.get("slack_webhook_parameter")
    if not parameter:
        return {"failed": False, "sent": False, "note": "no slack_webhook_parameter"}
    context = run or state
    try:
        url = aws.client("ssm", context).get_parameter(Name=parameter, WithDecryption=True)[
            "Parameter"
        ]["Value"]
    except Exception as exc:
        raise NotificationFailed(
            f"reading the webhook from SSM parameter {parameter!r} failed: "
            f"{error_code(exc) or type(exc).__name__}"
        ) from None
    info = summary(state)
    delivery = slack.post(
        url, slack.message(info["title"], info["ok"], info["fields"], info["text"])
    )
    if not delivery.ok:
        raise NotificationFailed(
            f"Slack refused the notification after {delivery.attempts} attempt(s): "
            f"{delivery.detail}"
        )
    return {"failed": False, "sent": True, "attempts": delivery.attempts}
