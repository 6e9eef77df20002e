"""Start creating one stack (or skip it when complete; delete it first when rolled back).

Input: ``{"key": "vpc", "event": {...}, "stacks": {<handoff>}}``. Output: the stack's handoff entry.
Raises DependencyNotReady when a stack it depends on is missing or not complete in the handoff.
"""

from __future__ import annotations

from typing import Any

from reslab_lambda.cfn import start_create
from reslab_lambda.handler import start


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    log = start("create_stack", event)
    result = start_create(event["key"], event["event"], event.get("stacks") or {})
    log.info("%s: %s", event["key"], result)
    return result
