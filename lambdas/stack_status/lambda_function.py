"""One status check between two Wait states (never sleeps).

Input: ``{"key": "database", "event": {...}, "action": "create" | "delete"}``.
Output: the stack's handoff entry. Raises StackFailed (naming the stack and the first failing
resource's reason) once the action can no longer succeed.
"""

from typing import Any

from reslab_lambda.cfn import status_of
from reslab_lambda.handler import handler


def check(task: dict[str, Any]) -> dict[str, Any]:
    return status_of(task["key"], task["event"], task["action"])


lambda_handler = handler("stack_status", check)
