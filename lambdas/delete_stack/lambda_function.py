"""Start deleting one stack after emptying its S3 buckets (every version); absent is fine.

Input: ``{"key": "storage", "event": {...}}``. Output: the stack's handoff entry.
"""

from __future__ import annotations

from typing import Any

from reslab_lambda.cfn import start_delete
from reslab_lambda.handler import start


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    log = start("delete_stack", event)
    result = start_delete(event["key"], event["event"])
    log.info("%s: %s", event["key"], result)
    return result
