"""One status check between two Wait states (never sleeps).

Input: ``{"key": "database", "event": {...}, "action": "create" | "delete"}``.
Output: the stack's handoff entry. Raises StackFailed (naming the stack and the first failing
resource's reason) once the action can no longer succeed.
"""

from __future__ import annotations

from typing import Any

from reslab_lambda.cfn import status_of
from reslab_lambda.handler import start


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    start("stack_status", event)
    return status_of(event["key"], event["event"], event["action"])
