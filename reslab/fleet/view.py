"""The live table of every target (status, stage, elapsed) and the final summary."""

from __future__ import annotations

import time
from collections import Counter
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from reslab.fleet.lab import BACKUP_STAGE
from reslab.fleet.runner import TargetRun

STYLES = {
    "succeeded": "green",
    "up": "green",
    "failed": "red",
    "partial": "yellow",
    "running": "cyan",
    "skipped": "dim",
}
MESSAGE_WIDTH = 90


def table(runs: list[TargetRun], title: str) -> Table:
    """One row per participant: where the lab is (stage, including the backup check), its
    website and the backup verdict. Fits an 80-column terminal (long cells wrap)."""
    now = time.monotonic()
    out = Table(title=title)
    for column in ("target", "status", "stage", "website", "backups", "elapsed"):
        out.add_column(column, no_wrap=column in ("status", "elapsed"), overflow="fold")
    for run in runs:
        style = STYLES.get(run.status)
        status = f"[{style}]{run.status}[/]" if style else run.status
        stage = f"{run.error}: {run.message[:MESSAGE_WIDTH]}" if run.error else run.stage
        backup = f"[red]{run.backup}[/]" if run.backup == "FAILED" else run.backup
        elapsed = f"{run.elapsed(now):.1f}s" if run.started else ""
        target = f"{run.target.label}\n{run.target.region} {run.target.workshop}"
        out.add_row(escape(target), status, escape(stage), run.url or "-", backup or "-", elapsed)
    return out


def rows_json(runs: list[TargetRun]) -> list[dict[str, object]]:
    """The table's rows as JSON (``reslab fleet ... --json``)."""
    return [
        {
            "row": run.target.row,
            "target": run.target.label,
            "region": run.target.region,
            "workshop": run.target.workshop,
            "status": run.status,
            "stage": run.stage,
            "website": run.url,
            "backups": run.backup,
            "error": run.error,
            "message": run.message,
            "elapsed_s": round(run.elapsed(), 1),
            "execution": run.execution,
        }
        for run in runs
    ]


class FleetView:
    """A live table on a terminal; otherwise one line per status change."""

    def __init__(self, console: Console, title: str) -> None:
        self.console, self.title = console, title
        self._live: Live | None = None
        self._seen: dict[int, str] = {}

    def __enter__(self) -> FleetView:
        if self.console.is_terminal:
            self._live = Live(table([], self.title), console=self.console, refresh_per_second=2)
            self._live.__enter__()
        return self

    def update(self, runs: list[TargetRun]) -> None:
        if self._live is not None:
            self._live.update(table(runs, self.title))
            return
        for run in runs:
            # a line per status change, and one when the deploy reaches its backup check
            checking = run.status == "running" and run.stage.endswith(BACKUP_STAGE)
            seen = f"{run.status}{BACKUP_STAGE if checking else ''}"
            if self._seen.get(run.target.row) != seen:
                self._seen[run.target.row] = seen
                detail = f" {run.error}: {run.message}" if run.error else ""
                detail = f" {run.stage}" if checking else detail
                self.console.print(
                    f"{run.target.label:<32} {run.status:<9} {run.elapsed():6.1f}s{detail}"
                )

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.__exit__(kind, exc, tb)
            self._live = None


def summary(runs: list[TargetRun], wall_seconds: float) -> str:
    counts = Counter(run.status for run in runs)
    parts = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    return f"{len(runs)} target(s): {parts} in {wall_seconds:.1f}s"
