"""Tables printed to a pipe (not a terminal) fit 80 columns: long cells wrap, nothing is cut."""

from __future__ import annotations

import io
import time

from rich.console import Console
from rich.table import Table

from reslab import sweep
from reslab.event import local_event, validate_event
from reslab.fleet.runner import TargetRun
from reslab.fleet.targets import Target
from reslab.fleet.view import table as fleet_table
from reslab.progress import StackProgress


def piped(table: Table) -> list[str]:
    """What a pipe receives: rich's Console with no terminal, as the commands make it."""
    out = io.StringIO()
    console = Console(file=out, soft_wrap=True)
    assert not console.is_terminal and console.width == 80
    console.print(table)
    return out.getvalue().splitlines()


def test_the_stack_table_fits() -> None:
    event = validate_event(local_event("reslab", {"workshop": "a-rather-long-workshop-name"}))
    progress = StackProgress(lambda service, region: None, event, Console(file=io.StringIO()))
    hours_ago = time.monotonic() - 5 * 3600  # elapsed times come from this clock, not uptime
    for line in progress.lines:
        line.update("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", hours_ago)
    lines = piped(progress.table())
    assert max(map(len, lines)) <= 80, "\n".join(lines)
    assert any("ResiliencyDatabase" in line for line in lines)


def test_the_fleet_table_fits() -> None:
    runs = []
    for row in (1, 2):
        target = Target(row, "us-east-2", "us-west-2", "workshop-room-12", profile=f"student{row}")
        runs.append(
            TargetRun(
                target,
                status="failed" if row == 2 else "succeeded",
                stage="deploy: 5/5 up, backup check",
                error="StackFailed" if row == 2 else "",
                message="ResiliencyDatabase: CREATE_FAILED: DB instance quota exceeded " * 2,
                url=f"http://ec2-3-{row}-33-44.us-east-2.compute.amazonaws.com/",
                backup="verified",
                started=1.0,
                ended=2.0,
            )
        )
    lines = piped(fleet_table(runs, "fleet deploy: class.csv"))
    assert max(map(len, lines)) <= 80, "\n".join(lines)
    cells = [line.split("│") for line in lines if line.startswith("│")]
    website = "".join(cell[4].strip() for cell in cells)  # folded, never cut
    assert website == "".join(run.url for run in runs)
    assert all(cell[5].strip() in ("verified", "") for cell in cells)


def test_the_sweep_table_fits() -> None:
    found = [
        sweep.Found("log-group", "us-east-2", "/aws/lambda/reslab-backup-checks-" + "x" * 40),
        sweep.Found("other", "us-west-2", "sg-0123", "arn:aws:ec2:::sg-0123", "kept: " + "y" * 60),
    ]
    lines = piped(sweep.table(found, "room-12"))
    assert max(map(len, lines)) <= 80, "\n".join(lines)
