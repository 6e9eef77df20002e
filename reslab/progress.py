"""Live progress of a deploy or teardown: one line per stack with its status and elapsed time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from reslab import execution
from reslab.clients import ClientFactory
from reslab_lambda.cfn import describe
from reslab_lambda.stacks import StackSpec, stack_table

_ENDED = ("_COMPLETE", "_FAILED")


@dataclass
class StackLine:
    spec: StackSpec
    name: str
    region: str | None
    status: str = "-"
    started: float | None = None
    ended: float | None = None

    def update(self, status: str, now: float, age: float | None = None) -> bool:
        """Record a status seen at ``now`` (``time.monotonic()``; ``age``: seconds since the
        stack's CreationTime, by the wall clock); returns whether it changed.

        Times are monotonic: a wall clock that steps, or a CreationTime a little ahead of this
        machine's clock, never makes an elapsed time negative."""
        if status == self.status:
            return False
        if status != "-" and (self.started is None or age is not None):
            self.started = now - max(0.0, age or 0.0)
        self.ended = now if status.endswith(_ENDED) or status == "-" else None
        self.status = status
        return True

    def elapsed(self, now: float) -> str:
        if self.started is None:
            return ""
        return short_duration(max(0.0, (self.ended or now) - self.started))


def short_duration(seconds: float) -> str:
    """Seconds to at most six characters: ``4.5s``, ``12m05s``, ``3h07m``; a stack that takes
    hours (an RDS replica in a busy region) never widens the table and folds the names."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


@dataclass
class StackProgress:
    """Polls CloudFormation for every stack of the lab; renders a table or change lines."""

    clients: ClientFactory
    event: Mapping[str, Any]
    console: Console
    #: Print a line per status change when not drawing a live table.
    echo: bool = True
    lines: list[StackLine] = field(default_factory=list)
    _live: Live | None = None

    def __post_init__(self) -> None:
        self.lines = [
            StackLine(spec, spec.stack_name(self.event), spec.region(self.event))
            for spec in stack_table()
        ]

    def current(self) -> dict[tuple[str, str], tuple[str, float]]:
        """(region, stack name) -> (status, creation epoch) of every live stack, one paginated
        call per region."""
        statuses: dict[tuple[str, str], tuple[str, float]] = {}
        ours = {(line.region, line.name) for line in self.lines if line.region}
        for region in sorted({region for region, _ in ours}):
            pages = self.clients("cloudformation", region).get_paginator("describe_stacks")
            for page in pages.paginate():
                for stack in page["Stacks"]:
                    key = (region, stack["StackName"])
                    if key not in ours:
                        continue  # another lab's stack: not ours to read
                    created = stack["CreationTime"].timestamp()
                    statuses[key] = (stack["StackStatus"], created)
        return statuses

    def poll(self) -> None:
        statuses = self.current()
        now, wall = time.monotonic(), time.time()
        for line in self.lines:
            found = statuses.get((line.region, line.name)) if line.region else ("SKIPPED", None)
            status, created = found or ("-", None)
            age = None if created is None else wall - created
            if line.update(status, now, age) and self.echo and self._live is None:
                self.console.print(
                    f"{line.spec.key:<9} {line.name:<24} {line.region or '-':<10} "
                    f"{line.status:<20} {line.elapsed(now)}"
                )
        if self._live is not None:
            self._live.update(self.table())

    def settled(self) -> bool:
        """Every stack has ended (complete, failed or skipped): what follows is not a stack."""
        return all(line.status.endswith(_ENDED) or line.status == "SKIPPED" for line in self.lines)

    def table(self) -> Table:
        now = time.monotonic()
        table = Table(title=f"stacks ({self.event.get('workshop', '')})")
        table.add_column("stack")
        table.add_column("name", no_wrap=True)  # a stack name is looked up by hand: never folded
        for column in ("region", "status", "elapsed"):
            table.add_column(column)
        for line in self.lines:
            style = "green" if line.status.endswith("COMPLETE") else None
            if "FAILED" in line.status or "ROLLBACK" in line.status:
                style = "red"
            table.add_row(
                line.spec.key,
                line.name,
                line.region or "-",
                f"[{style}]{line.status}[/]" if style else line.status,
                line.elapsed(now),
            )
        return table

    def __enter__(self) -> StackProgress:
        if self.console.is_terminal:
            self._live = Live(self.table(), console=self.console, refresh_per_second=4)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.poll()
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None


def stack_outputs(clients: ClientFactory, event: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Each existing stack's outputs, by stack key."""
    result: dict[str, dict[str, str]] = {}
    for spec in stack_table():
        region = spec.region(event)
        stack = (
            describe(clients("cloudformation", region), spec.stack_name(event)) if region else None
        )
        if stack:
            result[spec.key] = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return result


@contextmanager
def phase(console: Console, doing: str) -> Iterator[None]:
    """A step with no table of its own (the install): a spinner with the elapsed time on a
    terminal, a start line otherwise; then one line with its duration."""
    started = time.monotonic()
    if console.is_terminal:
        with console.status(f"{doing}..."):
            yield
    else:
        console.print(f"{doing}...")
        yield
    console.print(f"{doing}: done in {time.monotonic() - started:.1f}s")


#: States of the restore machine worth a line (waits and choices are not).
_QUIET_STATE_TYPES = ("WaitStateEntered", "ChoiceStateEntered", "PassStateEntered")


@dataclass
class BackupProgress:
    """The nested restore-integrity execution the deploy machine ends with: one line per step
    it enters (restore, wait for the instance, checks...), with the time since it began."""

    sfn: Any
    machine_arn: str
    #: Only an execution started at or after this (the deploy's own start) is ours.
    since: datetime
    say: Callable[[str], None]
    arn: str | None = None
    started: float = 0.0
    _seen: int = 0
    _last: str = ""

    def poll(self) -> None:
        if self.arn is None:
            listed = self.sfn.list_executions(stateMachineArn=self.machine_arn, maxResults=20)
            ours = [e for e in listed["executions"] if e["startDate"] >= self.since]
            if not ours:
                return
            self.arn, self.started = ours[0]["executionArn"], time.monotonic()
            self.say("backup check: restoring the newest snapshot into a temporary instance")
        events = list(execution.history(self.sfn, self.arn))
        fresh, self._seen = events[self._seen :], len(events)
        for event in fresh:
            details = event.get("stateEnteredEventDetails")
            if not details or event["type"] in _QUIET_STATE_TYPES or details["name"] == self._last:
                continue
            self._last = details["name"]
            self.say(f"backup check: {self._last} ({time.monotonic() - self.started:.0f}s)")
