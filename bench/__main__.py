"""Run all benchmarks (or those named on the command line), print a table, write results.json."""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

import bench
from bench.result import BenchResult

OUT = Path("build/bench/results.json")


def discover(selected: list[str]) -> list[str]:
    names = sorted(
        m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_")
    )
    if selected:
        names = [n for n in names if any(s in n for s in selected)]
    return names


def main(argv: list[str]) -> int:
    console = Console()
    results: list[BenchResult] = []
    failed: list[str] = []
    for name in discover(argv):
        console.print(f"[bold]running[/] {name} ...")
        try:
            module = importlib.import_module(f"bench.{name}")
            results.extend(module.run())
        except Exception as exc:  # one broken benchmark must not lose the others' figures
            console.print(f"[red]{name} failed:[/] {type(exc).__name__}: {exc}")
            failed.append(name)
    table = Table(title="reslab benchmarks")
    for column in ("name", "value", "unit", "baseline", "baseline value", "ratio"):
        table.add_column(column)
    for r in results:
        table.add_row(
            r.name,
            f"{r.value:.4g}",
            r.unit,
            r.baseline,
            f"{r.baseline_value:.4g}",
            f"{r.ratio:.3f}",
        )
    console.print(table)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps([r.to_json() for r in results], indent=2) + "\n")
    console.print(f"wrote {OUT}")
    if failed:
        console.print(f"[red]failed benchmarks:[/] {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
