"""Switch a running lab's web app between fragile and resilient: an update of the web stack.

Only the ``WebAppMode`` parameter changes (previous template, every other parameter kept, the
stack's own service role reused). On AWS the new launch-template version rolls through the Auto
Scaling group one instance at a time; in the local cloud the web tier restarts its app on the
same port. Nothing is redeployed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from reslab.clients import ClientFactory
from reslab.errors import ReslabError, StackFailed
from reslab_lambda.cfn import CAPABILITIES, describe, first_failure
from reslab_lambda.event import WEBAPP_MODES
from reslab_lambda.stacks import spec_for

MODE_PARAMETER = "WebAppMode"


class InvalidMode(ReslabError):
    """The mode asked for is not one the web app has."""


class LabNotDeployed(ReslabError):
    """The web stack the command needs does not exist (or is not in a state to update)."""


@dataclass
class ModeChange:
    stack: str
    region: str
    before: str
    after: str
    status: str
    seconds: float

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "region": self.region,
            "before": self.before,
            "after": self.after,
            "status": self.status,
            "seconds": round(self.seconds, 1),
        }


def stack_mode(stack: Mapping[str, Any]) -> str:
    """The stack's ``WebAppMode`` (a stack created before the parameter existed: fragile)."""
    for param in stack.get("Parameters", []):
        if param["ParameterKey"] == MODE_PARAMETER:
            return str(param["ParameterValue"])
    return "fragile"


def _web_stack(clients: ClientFactory, event: Mapping[str, Any]) -> tuple[Any, str, dict[str, Any]]:
    spec = spec_for("web")
    region = spec.region(event) or event["region_name"]
    cfn = clients("cloudformation", region)
    name = spec.stack_name(event)
    stack = describe(cfn, name)
    if stack is None:
        raise LabNotDeployed(f"stack {name} does not exist in {region}: deploy the lab first")
    return cfn, region, stack


def set_mode(
    clients: ClientFactory,
    event: Mapping[str, Any],
    mode: str,
    poll_seconds: float,
    on_poll: Callable[[str], None] | None = None,
) -> ModeChange:
    """Update the web stack to ``mode`` and wait for the update to end; ``StackFailed`` if it
    does not complete. Already in ``mode``: nothing is called (AWS refuses an empty update)."""
    if mode not in WEBAPP_MODES:
        raise InvalidMode(f"{mode!r} is not one of {', '.join(WEBAPP_MODES)}")
    cfn, region, stack = _web_stack(clients, event)
    before, started = stack_mode(stack), time.monotonic()
    if before == mode:
        return ModeChange(stack["StackName"], region, before, mode, stack["StackStatus"], 0.0)
    if stack["StackStatus"].endswith("_IN_PROGRESS"):
        raise LabNotDeployed(f"stack {stack['StackName']} is {stack['StackStatus']}: try again")
    if not any(p["ParameterKey"] == MODE_PARAMETER for p in stack.get("Parameters", [])):
        raise LabNotDeployed(
            f"stack {stack['StackName']} has no {MODE_PARAMETER} parameter (deployed before the "
            "modes existed): destroy and deploy the lab again to switch modes"
        )
    since = time.time()
    parameters: list[dict[str, Any]] = [
        {"ParameterKey": p["ParameterKey"], "UsePreviousValue": True}
        for p in stack.get("Parameters", [])
        if p["ParameterKey"] != MODE_PARAMETER
    ]
    parameters.append({"ParameterKey": MODE_PARAMETER, "ParameterValue": mode})
    try:
        cfn.update_stack(
            StackName=stack["StackName"],
            UsePreviousTemplate=True,
            Parameters=parameters,
            Capabilities=CAPABILITIES,  # those the deploy Lambda created the stack with
        )
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message") or str(exc)
        refused = f"UpdateStack of {stack['StackName']} ({region}) refused: {message}"
        raise StackFailed(refused) from None
    while True:
        current = describe(cfn, stack["StackName"]) or {}
        status = str(current.get("StackStatus", "DELETED"))
        if on_poll is not None:
            on_poll(status)
        if not status.endswith("_IN_PROGRESS"):
            break
        time.sleep(poll_seconds)
    if status != "UPDATE_COMPLETE":
        reason = first_failure(cfn, current or stack, since)
        raise StackFailed(f"stack {stack['StackName']} ({region}) is {status}: {reason}")
    seconds = time.monotonic() - started
    return ModeChange(stack["StackName"], region, before, mode, status, seconds)


__all__ = ["InvalidMode", "LabNotDeployed", "ModeChange", "set_mode", "stack_mode"]
