"""Live progress of a deploy or teardown: one line per stack with its status and elapsed time."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

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

    def update(self, status: str, now: float, created: float | None = None) -> bool:
        """Record a status seen at ``now`` (epoch seconds; ``created``: the stack's
        CreationTime); returns whether it changed."""
        if status == self.status:
            return False
        if status != "-" and (self.started is None or created is not None):
            self.started = created if created is not None else now
        self.ended = now if status.endswith(_ENDED) or status == "-" else None
        self.status = status
        return True

    def elapsed(self, now: float) -> str:
        if self.started is None:
            return ""
        return f"{(self.ended or now) - self.started:.1f}s"


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
        for region in sorted({line.region for line in self.lines if line.region}):
            pages = self.clients("cloudformation", region).get_paginator("describe_stacks")
            for page in pages.paginate():
                for stack in page["Stacks"]:
                    created = stack["CreationTime"].timestamp()
                    statuses[(region, stack["StackName"])] = (stack["StackStatus"], created)
        return statuses

    def poll(self) -> None:
        now, statuses = time.time(), self.current()
        for line in self.lines:
            found = statuses.get((line.region, line.name)) if line.region else ("SKIPPED", None)
            status, created = found or ("-", None)
            if line.update(status, now, created) and self.echo and self._live is None:
                self.console.print(
                    f"{line.spec.key:<9} {line.name:<24} {line.region or '-':<10} "
                    f"{line.status:<20} {line.elapsed(now)}"
                )
        if self._live is not None:
            self._live.update(self.table())

    def table(self) -> Table:
        now = time.time()
        table = Table(title=f"stacks ({self.event.get('workshop', '')})")
        for column in ("stack", "name", "region", "status", "elapsed"):
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
