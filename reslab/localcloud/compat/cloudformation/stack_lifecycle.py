"""A stack's life in moto 5.2.5 vs AWS: create, rollback, delete, and how long it takes.

* A resource that fails to create made CreateStack itself fail (HTTP 4xx/500) and left the stack
  in CREATE_IN_PROGRESS forever. Here CreateStack succeeds and the stack ends ROLLBACK_COMPLETE
  with a CREATE_FAILED event carrying the reason, as on AWS (resources created so far are
  deleted). ``LocalCloud.fail_stack(pattern, reason)`` uses the same path (test hook).
* A failing delete lost the stack; here it stays visible as DELETE_FAILED with a reason event.
* ``LocalCloud(time_scale=N)``: stacks are held in CREATE_IN_PROGRESS / DELETE_IN_PROGRESS for
  the typical AWS duration / N (``reslab.localcloud.clock``); outputs appear when complete.
* Hooks: ``AFTER_CREATE`` (``stack``) run after a successful create (the web tier starts its app
  there); ``AFTER_UPDATE`` (``stack``) after a successful update (the web tier restarts its app
  with the new parameters; if a hook fails the stack ends UPDATE_ROLLBACK_COMPLETE with its
  previous parameters); ``BEFORE_DELETE`` (``stack``) run before resources are deleted.
"""

from __future__ import annotations

import contextlib
import math
import time
import traceback
from collections.abc import Callable
from typing import Any

from reslab.localcloud import clock
from reslab.localcloud.context import cloud_context

AFTER_CREATE: list[Callable[[Any], None]] = []
AFTER_UPDATE: list[Callable[[Any], None]] = []
BEFORE_DELETE: list[Callable[[Any], None]] = []

_installed = False


class InjectedStackFailure(Exception):
    """Raised for stacks matched by LocalCloud.fail_stack()."""


class ResourceFailure(Exception):
    """A resource's handler failed with a reason worded as AWS words it (its ``message``),
    for the named resource (not the one ``_failed_resource`` would guess)."""

    def __init__(self, logical_id: str, resource_type: str, message: str) -> None:
        super().__init__(message)
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.message = message


def _now() -> float:
    return time.monotonic()


def _start_hold(stack: Any, action: str, shown: str) -> None:
    seconds = clock.hold_seconds(stack.template_dict, action, cloud_context.time_scale)
    stack._reslab_hold = (_now() + seconds, shown) if seconds > 0 else None


def is_held(stack: Any) -> bool:
    hold = getattr(stack, "_reslab_hold", None)
    return bool(hold and _now() < hold[0])


def add_event(stack: Any, logical_id: str, rtype: str, status: str, reason: str | None) -> None:
    from moto.cloudformation.models import Event

    stack.events.append(
        Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id=stack.stack_id if logical_id == stack.name else "",
            resource_type=rtype,
            resource_status=status,
            resource_status_reason=reason,
            resource_properties=None,
        )
    )


def _failed_resource(stack: Any, exc: BaseException) -> tuple[str, str]:
    """Best guess of the logical resource being created when ``exc`` was raised."""
    resources = stack.template_dict.get("Resources") or {}
    if isinstance(exc, ResourceFailure):
        return exc.logical_id, exc.resource_type
    if isinstance(exc, InjectedStackFailure) and resources:
        logical_id = next(iter(resources))
        return logical_id, resources[logical_id].get("Type", "AWS::CloudFormation::Stack")
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        logical_id = frame.f_locals.get("logical_id")
        if isinstance(logical_id, str):
            rtype = (resources.get(logical_id) or {}).get("Type")
            return logical_id, rtype or "AWS::CloudFormation::Stack"
    return stack.name, "AWS::CloudFormation::Stack"


def _reason(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    if isinstance(exc, InjectedStackFailure | ResourceFailure):
        return str(message)
    return f"{type(exc).__name__}: {message}"


def roll_back(stack: Any, exc: BaseException) -> None:
    logical_id, rtype = _failed_resource(stack, exc)
    reason = _reason(exc)
    add_event(stack, logical_id, rtype, "CREATE_FAILED", reason)
    add_event(
        stack,
        stack.name,
        "AWS::CloudFormation::Stack",
        "ROLLBACK_IN_PROGRESS",
        f"The following resource(s) failed to create: [{logical_id}]. Rollback requested by user.",
    )
    with contextlib.suppress(Exception):  # rollback is best effort, like AWS's
        stack.resource_map.delete()
    stack.status = "ROLLBACK_COMPLETE"
    stack.status_reason = f"The following resource(s) failed to create: [{logical_id}]."
    add_event(stack, stack.name, "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE", None)


def _run_after_create_hooks(stack: Any) -> None:
    """E.g. the web tier (if its app can't start, the stack rolls back). A hook may step out of
    the request lock (``serialise.released``): until the hooks are done, others see the stack
    CREATE_IN_PROGRESS without outputs, not CREATE_COMPLETE with the outputs of before."""
    hold = getattr(stack, "_reslab_hold", None)
    stack._reslab_hold = (math.inf, "CREATE_IN_PROGRESS")
    try:
        for hook in AFTER_CREATE:
            hook(stack)
    finally:
        stack._reslab_hold = hold


def _patch_stack() -> None:
    from moto.cloudformation.models import Stack as FakeStack

    create_resources = FakeStack.create_resources
    update = FakeStack.update
    delete = FakeStack.delete
    outputs = FakeStack.outputs

    def guarded_create_resources(self: Any) -> None:
        _start_hold(self, "create", "CREATE_IN_PROGRESS")
        try:
            reason = cloud_context.stack_faults.reason_for(self.name)
            if reason is not None:
                raise InjectedStackFailure(reason)
            create_resources(self)
            _run_after_create_hooks(self)
        except Exception as exc:  # noqa: BLE001 - AWS reports it on the stack, not the API
            roll_back(self, exc)

    def update_then_hooks(self: Any, *args: Any, **kwargs: Any) -> None:
        previous = dict(self.parameters or {})
        update(self, *args, **kwargs)
        hold = getattr(self, "_reslab_hold", None)
        self._reslab_hold = (math.inf, "UPDATE_IN_PROGRESS")
        try:
            for hook in AFTER_UPDATE:
                hook(self)
        except Exception as exc:  # noqa: BLE001 - AWS reports it on the stack, not the API
            add_event(self, self.name, "AWS::CloudFormation::Stack", "UPDATE_FAILED", _reason(exc))
            self.parameters = previous
            self.status = "UPDATE_ROLLBACK_COMPLETE"
            add_event(self, self.name, "AWS::CloudFormation::Stack", self.status, None)
        finally:
            self._reslab_hold = hold

    def guarded_delete(self: Any) -> None:
        for hook in BEFORE_DELETE:
            with contextlib.suppress(Exception):  # never block a delete on a local helper
                hook(self)
        _start_hold(self, "delete", "DELETE_IN_PROGRESS")
        try:
            delete(self)
        except Exception as exc:  # noqa: BLE001
            self.status = "DELETE_FAILED"
            self.status_reason = _reason(exc)
            if isinstance(exc, ResourceFailure):
                add_event(self, exc.logical_id, exc.resource_type, "DELETE_FAILED", exc.message)
                self.status_reason = (
                    f"The following resource(s) failed to delete: [{exc.logical_id}]. "
                )
            add_event(
                self, self.name, "AWS::CloudFormation::Stack", "DELETE_FAILED", self.status_reason
            )
            raise

    def get_status(self: Any) -> str | None:
        if is_held(self):
            return self._reslab_hold[1]  # type: ignore[no-any-return]
        return self.__dict__.get("_reslab_status")

    def set_status(self: Any, value: str | None) -> None:
        self.__dict__["_reslab_status"] = value

    def get_outputs(self: Any) -> Any:
        if is_held(self) or self.__dict__.get("_reslab_status") not in (
            "CREATE_COMPLETE",
            "UPDATE_COMPLETE",
            "UPDATE_ROLLBACK_COMPLETE",
        ):
            return None
        return outputs.fget(self)

    FakeStack.create_resources = guarded_create_resources
    FakeStack.update = update_then_hooks
    FakeStack.delete = guarded_delete
    FakeStack.status = property(get_status, set_status)  # type: ignore[assignment]
    FakeStack.outputs = property(get_outputs)  # type: ignore[assignment]
    FakeStack.status_reason = None  # type: ignore[attr-defined]


def _patch_backend() -> None:
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import CloudFormationBackend

    describe_stacks = CloudFormationBackend.describe_stacks
    get_stack = CloudFormationBackend.get_stack
    delete_stack = CloudFormationBackend.delete_stack
    describe_events = CloudFormationBackend.describe_stack_events

    def held_deleted(self: Any, name: str) -> Any | None:
        for stack in self.deleted_stacks.values():
            if stack.name == name and is_held(stack):
                return stack
        return None

    def describe(self: Any, name_or_stack_id: str) -> list[Any]:
        if not name_or_stack_id:
            held = [s for s in self.deleted_stacks.values() if is_held(s)]
            return describe_stacks(self, name_or_stack_id) + held
        try:
            return describe_stacks(self, name_or_stack_id)
        except ValidationError:
            stack = held_deleted(self, name_or_stack_id)
            if stack is None:
                raise
            return [stack]

    def get(self: Any, name_or_stack_id: str) -> Any:
        try:
            return get_stack(self, name_or_stack_id)
        except ValidationError:
            stack = held_deleted(self, name_or_stack_id)
            if stack is None:
                raise
            return stack

    def delete_keeping_failed(self: Any, name_or_stack_id: str) -> None:
        stacks = [s for s in self.stacks.values() if name_or_stack_id in (s.name, s.stack_id)]
        try:
            delete_stack(self, name_or_stack_id)
        except Exception:  # noqa: BLE001 - the stack shows DELETE_FAILED instead
            for stack in stacks:
                self.deleted_stacks.pop(stack.stack_id, None)
                self.stacks[stack.stack_id] = stack

    def events(self: Any, stack_name: str) -> list[Any]:
        stack = get(self, stack_name)
        if is_held(stack):
            return [e for e in stack.events if e.resource_status.endswith("IN_PROGRESS")]
        return describe_events(self, stack_name)

    CloudFormationBackend.describe_stacks = describe
    CloudFormationBackend.get_stack = get
    CloudFormationBackend.delete_stack = delete_keeping_failed
    CloudFormationBackend.describe_stack_events = events


def install() -> None:
    global _installed
    if _installed:
        return
    _patch_stack()
    _patch_backend()
    _installed = True
