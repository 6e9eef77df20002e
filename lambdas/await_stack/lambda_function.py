"""Wait for one stack's completion event (``lambda:invoke.waitForTaskToken``; never sleeps).

Input: ``{"key": "database", "event": {...}, "action": "create" | "delete", "token": <task
token>}``. Stores the token where the stack's completion event finds it (``stack_event``), then
looks at the stack once: when CloudFormation will send no event (the stack is not changing, or
finished before the token was stored) the token is answered here, with the same handoff entry
(or ``StackFailed``). Output (of the invocation; the Task's output is the answer):
``{"waiting": true | false}``.
"""

from typing import Any

from reslab_lambda.cfn import status_of
from reslab_lambda.errors import LabError
from reslab_lambda.handler import LOGGER, handler
from reslab_lambda.handoff import answer, ensure_rule, forget, store_token, waits_for_event
from reslab_lambda.stacks import spec_for


def await_stack(task: dict[str, Any]) -> dict[str, bool]:
    key, event, action = task["key"], task["event"], task["action"]
    spec = spec_for(key)
    region = spec.region(event)
    if region is not None:
        ensure_rule(region, spec.stack_name(event).removesuffix(spec.suffix), event["workshop"])
        name = store_token({"stackname": spec.stack_name(event), "region": region}, task)
        try:
            status = status_of(key, event, action)["status"]
        except LabError:
            status = "failed"  # answered below, with the error
        if waits_for_event(status):
            LOGGER.info("%s: %s, waiting for its event", key, status)
            return {"waiting": True}
        forget(name)
    LOGGER.info("%s: answered at once: %s", key, answer(task["token"], key, event, action))
    return {"waiting": False}


lambda_handler = handler("await_stack", await_stack)
