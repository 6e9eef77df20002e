"""Start deleting one stack after emptying its S3 buckets (every version); absent is fine.

Input: ``{"key": "storage", "event": {...}}``. Output: the stack's handoff entry.
"""

from typing import Any

from reslab_lambda.cfn import start_delete
from reslab_lambda.handler import LOGGER, handler


def delete(task: dict[str, Any]) -> dict[str, Any]:
    result = start_delete(task["key"], task["event"])
    LOGGER.info("%s: %s", task["key"], result)
    return result


lambda_handler = handler("delete_stack", delete)
