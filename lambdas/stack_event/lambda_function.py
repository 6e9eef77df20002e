"""Answer the execution waiting for a stack: the target of the EventBridge rule delivering
"CloudFormation Stack Status Change" events of the lab's stacks (final statuses only).

Input: the EventBridge event (``detail["stack-id"]``, ``detail["status-details"]["status"]``).
Finds the wait ``await_stack`` stored for that stack (none: nobody waits, nothing to do) and
answers it with the stack's handoff entry ``{"stackname", "status", "region"}`` (or
``StackFailed``), exactly as the poll reads it. Output: what was sent.
"""

from typing import Any

from reslab_lambda.handler import LOGGER, handler
from reslab_lambda.handoff import answer, stack_of, take_token


def on_stack_event(event: dict[str, Any]) -> dict[str, Any]:
    detail = event.get("detail") or {}
    name, region = stack_of(detail)
    status = (detail.get("status-details") or {}).get("status")
    wait = take_token(name, region)
    if wait is None:
        LOGGER.info("%s (%s) is %s: no execution waits for it", name, region, status)
        return {"stackname": name, "region": region, "waiting": False}
    sent = answer(wait["token"], wait["key"], wait["event"], wait["action"])
    LOGGER.info("%s (%s) is %s: answered %s", name, region, status, sent)
    return {"stackname": name, "region": region, "waiting": True, **sent}


lambda_handler = handler("stack_event", on_stack_event)
