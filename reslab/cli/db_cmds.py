"""``reslab db-diff SOURCE_URL TARGET_URL``: does a (restored) database match its source?

Exit codes: 0 every check passed, 1 some check failed (listed), 2 the comparison could not run
(bad URL, unreadable expectations, unreachable database): ``Name: message`` on stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from reslab.checks import run_checks
from reslab.checks.errors import DatabaseUnreachable, InvalidExpectations
from reslab.checks.model import CheckReport
from reslab.dburl import InvalidDatabaseUrl, parse_db_url
from reslab.reports import render_json

EXIT_MATCH, EXIT_MISMATCH, EXIT_USAGE = 0, 1, 2
_USAGE_ERRORS = (InvalidDatabaseUrl, InvalidExpectations, DatabaseUnreachable)


def db_diff(
    source_url: str = typer.Argument(
        ..., metavar="SOURCE_URL", help="Database the target should match."
    ),
    target_url: str = typer.Argument(
        ..., metavar="TARGET_URL", help="Database to check (e.g. a restored snapshot)."
    ),
    expectations: Path | None = typer.Option(
        None, "--expectations", "-e", help="Expectations file (YAML or JSON, schema_version 1)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report JSON instead."),
) -> None:
    """Compare TARGET_URL with SOURCE_URL: schema, row counts, checksums, expectations."""
    try:
        for url in (source_url, target_url):
            parse_db_url(url)
        report = run_checks(source_url, target_url, expectations)
    except _USAGE_ERRORS as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_USAGE) from exc
    if as_json:
        sys.stdout.write(render_json(report))
    else:
        _print_summary(report)
    raise typer.Exit(EXIT_MATCH if report.verdict == "pass" else EXIT_MISMATCH)


def _print_summary(report: CheckReport) -> None:
    console = Console()
    failures = report.failures
    console.print(f"target {report.target}  vs  source {report.source}", markup=False)
    if not failures:
        console.print(f"[bold green]MATCH[/]: all {len(report.checks)} checks passed")
        return
    table = Table(title=f"{len(failures)} of {len(report.checks)} checks failed")
    table.add_column("check", no_wrap=True)
    for column in ("measured", "expected", "details"):
        table.add_column(column, overflow="fold")
    for c in failures:
        # long lists (columns, indexes) are summarised: the details column carries the diff
        values = (c.name, _brief(c.measured), _brief(c.expected), c.details)
        table.add_row(*(_text(v) for v in values))
    console.print(table)
    console.print("[bold red]MISMATCH[/]")


def _brief(value: object) -> object:
    return f"{len(value)} items" if isinstance(value, list) and len(value) > 3 else value


def _text(value: object) -> str:
    return escape("-" if value is None else str(value))  # database text is never markup


def register(app: typer.Typer) -> None:
    app.command("db-diff")(db_diff)
