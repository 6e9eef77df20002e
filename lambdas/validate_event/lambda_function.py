"""First state of both machines: reject a bad event (InvalidEvent) before anything is created.

Input: the execution input (the documented event).
Output: ``{"event": <normalised>, "stacks": {}}``.
"""

from __future__ import annotations

from typing import Any

from reslab_lambda.event import check_installed_prefix, validate_event
from reslab_lambda.handler import start


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    start("validate_event", event)
    normalised = validate_event(event)
    check_installed_prefix(normalised)
    return {"event": normalised, "stacks": {}}
