"""Gap 59: moto 5.2.5's CloudFormation sends no "CloudFormation Stack Status Change" events.

On AWS, each stack status change is an event on the stack region's default EventBridge bus
(source ``aws.cloudformation``; ``detail``: ``stack-id``, ``status-details.status``/
``status-reason``). The deploy and teardown machines wait for the final ones
(``reslab_lambda.handoff``). Here every create, update and delete puts the event of its final
status on the stack region's default bus when the stack shows it: at once, or when the
``time_scale`` hold (``stack_lifecycle``) ends -- never while the stack still shows
``*_IN_PROGRESS``.

Test hook: :func:`losing` drops the events of stacks matching a pattern (a lost event).
Bench hook: :data:`SHOWN_AT` records when each stack showed its final status (the moment its
event is due, lost or not).
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

from reslab.localcloud import serialise
from reslab.localcloud.compat.cloudformation.stack_lifecycle import is_held

SOURCE = "aws.cloudformation"
DETAIL_TYPE = "CloudFormation Stack Status Change"
#: Stack name patterns whose events are dropped (:func:`losing`).
_LOST: set[str] = set()
#: Stack id -> wall-clock time (``time.time()``) it last showed a final status.
SHOWN_AT: dict[str, float] = {}
_installed = False


@contextlib.contextmanager
def losing(pattern: str) -> Iterator[None]:
    """``with losing("t1Web"): ...``: the events of matching stacks are never sent."""
    _LOST.add(pattern)
    try:
        yield
    finally:
        _LOST.discard(pattern)


def _final_status(stack: Any) -> str | None:
    status = stack.__dict__.get("_reslab_status")
    return None if not status or status.endswith("_IN_PROGRESS") else str(status)


def put_status_event(stack: Any, status: str) -> None:
    """Put the stack's status change event on its region's default bus (under the lock)."""
    from moto.events.models import events_backends

    SHOWN_AT[stack.stack_id] = time.time()
    if any(fnmatch.fnmatchcase(stack.name, pattern) for pattern in _LOST):
        return
    detail = {
        "stack-id": stack.stack_id,
        "status-details": {"status": status, "status-reason": stack.status_reason or ""},
        "client-request-token": "",
    }
    entry = {
        "Source": SOURCE,
        "DetailType": DETAIL_TYPE,
        "Detail": json.dumps(detail),
        "Resources": [stack.stack_id],
        "EventBusName": "default",
    }
    backend = events_backends[stack.account_id][stack.region_name]
    if serialise.held():
        backend.put_events([entry])
    else:
        with serialise.serialised():
            backend.put_events([entry])


def _when_shown(stack: Any) -> None:
    """Send the stack's final status once it shows (after its hold, if any)."""
    status = _final_status(stack)
    if status is None:
        return
    hold = getattr(stack, "_reslab_hold", None)
    if not is_held(stack) or hold is None:
        put_status_event(stack, status)
        return

    def later() -> None:
        while is_held(stack):  # a hook may have extended the hold
            time.sleep(0.05)
        if _final_status(stack) == status:
            put_status_event(stack, status)

    delay = max(0.0, hold[0] - time.monotonic())
    timer = threading.Timer(delay, later)
    timer.daemon = True
    timer.start()


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.cloudformation.models import Stack as FakeStack

    create_resources, update, delete = (
        FakeStack.create_resources,
        FakeStack.update,
        FakeStack.delete,
    )

    def create_then_event(self: Any) -> None:
        create_resources(self)
        _when_shown(self)

    def update_then_event(self: Any, *args: Any, **kwargs: Any) -> None:
        update(self, *args, **kwargs)
        _when_shown(self)

    def delete_then_event(self: Any) -> None:
        try:
            delete(self)
        finally:
            _when_shown(self)

    FakeStack.create_resources = create_then_event
    FakeStack.update = update_then_event
    FakeStack.delete = delete_then_event
    _installed = True
