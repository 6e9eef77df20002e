"""Run one state machine execution to its end and turn a failure into its named error."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from reslab.errors import ReslabError

POLL_SECONDS = 0.5


class NamedExecutionError(ReslabError):
    """An execution failed; ``name`` is its error (``StackFailed``, ``InvalidEvent``...)."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error

    @property
    def name(self) -> str:
        return self.error or "ExecutionFailed"


@dataclass
class Outcome:
    """The end of an execution: status, output (parsed) or error + readable cause."""

    arn: str
    status: str
    output: Any = None
    error: str = ""
    cause: str = ""

    def to_json(self) -> dict[str, Any]:
        if self.status == "SUCCEEDED":
            return {"status": self.status, "executionArn": self.arn, "output": self.output}
        return {"status": self.status, "executionArn": self.arn, "error": self.error,
                "cause": self.cause}  # fmt: skip

    def raise_for_status(self) -> None:
        if self.status != "SUCCEEDED":
            raise NamedExecutionError(self.error or "ExecutionFailed", self.cause or self.status)


def readable_cause(cause: str | None) -> str:
    """A Lambda error's cause is its JSON error object: keep just the message."""
    if not cause:
        return ""
    try:
        data = json.loads(cause)
    except json.JSONDecodeError:
        return cause
    if isinstance(data, dict) and "errorMessage" in data:
        return str(data["errorMessage"])
    return cause


def start(sfn: Any, machine_arn: str, event: dict[str, Any], prefix: str) -> str:
    name = f"{prefix}-{time.strftime('%Y%m%dT%H%M%S')}-{time.monotonic_ns() % 1_000_000:06d}"
    return str(
        sfn.start_execution(stateMachineArn=machine_arn, name=name, input=json.dumps(event))[
            "executionArn"
        ]
    )


def wait(
    sfn: Any,
    arn: str,
    on_poll: Callable[[], None] | None = None,
    poll_seconds: float = POLL_SECONDS,
) -> Outcome:
    """Poll until the execution ends (calling ``on_poll`` between polls)."""
    while True:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            break
        if on_poll:
            on_poll()
        time.sleep(poll_seconds)
    output = described.get("output")
    return Outcome(
        arn=arn,
        status=described["status"],
        output=json.loads(output) if output else None,
        error=described.get("error", ""),
        cause=readable_cause(described.get("cause")),
    )


def history(sfn: Any, arn: str) -> Iterator[dict[str, Any]]:
    """Every history event, oldest first."""
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
        if token:
            kwargs["nextToken"] = token
        page = sfn.get_execution_history(**kwargs)
        yield from page["events"]
        token = page.get("nextToken")
        if not token:
            return


def entered_states(sfn: Any, arn: str) -> list[str]:
    """Names of the states the execution entered, in order."""
    return [
        e["stateEnteredEventDetails"]["name"]
        for e in history(sfn, arn)
        if "stateEnteredEventDetails" in e
    ]


class HistoryTail:
    """Yields each history event once, as the execution goes (for streaming on AWS)."""

    def __init__(self, sfn: Any, arn: str) -> None:
        self.sfn, self.arn, self.seen = sfn, arn, 0

    def new_events(self) -> list[dict[str, Any]]:
        events = list(history(self.sfn, self.arn))
        fresh, self.seen = events[self.seen :], len(events)
        return fresh


def describe_event(event: dict[str, Any]) -> str | None:
    """One line for a state entered or a failure; None for the rest."""
    if "stateEnteredEventDetails" in event:
        return f"-> {event['stateEnteredEventDetails']['name']}"
    for key, details in event.items():
        if key.endswith("FailedEventDetails") and isinstance(details, dict):
            return f"!! {event['type']}: {details.get('error', '')}"
    return None
