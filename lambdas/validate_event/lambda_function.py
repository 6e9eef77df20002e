"""First state of both machines: reject a bad event (InvalidEvent) before anything is created.

Input: the execution input (the documented event).
Output: ``{"event": <normalised>, "stacks": {}}``.
"""

from __future__ import annotations

from typing import Any

from reslab_lambda.event import validate_event
from reslab_lambda.handler import start


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    start("validate_event", event)
    return {"event": validate_event(event), "stacks": {}}
