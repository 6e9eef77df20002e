"""Start creating one stack (or skip it when complete; delete it first when rolled back).

Input: ``{"key": "vpc", "event": {...}, "stacks": {<handoff>}}``. Output: the stack's handoff entry.
Raises DependencyNotReady when a stack it depends on is missing or not complete in the handoff.
"""

from typing import Any

from reslab_lambda.cfn import start_create
from reslab_lambda.handler import LOGGER, handler


def create(task: dict[str, Any]) -> dict[str, Any]:
    result = start_create(task["key"], task["event"], task.get("stacks") or {})
    LOGGER.info("%s: %s", task["key"], result)
    return result


lambda_handler = handler("create_stack", create)
