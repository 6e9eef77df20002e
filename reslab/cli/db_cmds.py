"""``reslab db-diff SOURCE_URL TARGET_URL``: does a (restored) database match its source?

Exit codes: 0 every check passed (checks that could not run are listed as SKIP), 1 some check
failed (listed, each with why), 2 the comparison could not run (bad URL, unreadable
expectations, unreachable database): ``Name: message`` on stderr.

``reslab db-diff`` runs this module alone (``alone``, from ``reslab.cli.app.run``): it
imports typer and ``reslab.checks`` only (rich only to print a mismatch), so that the command
starts at once.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from reslab.checks import run_checks
from reslab.checks.chunks import DEFAULT_WORKERS
from reslab.checks.errors import DatabaseUnreachable, InvalidExpectations
from reslab.checks.model import CheckReport
from reslab.dburl import InvalidDatabaseUrl, parse_db_url

COMMAND = "db-diff"
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
    workers: int = typer.Option(
        DEFAULT_WORKERS,
        "--workers",
        min=1,
        help="Server processes per table and side: MySQL key ranges on that many connections,"
        " PostgreSQL parallel workers (more pays when the servers have idle cores).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report JSON instead."),
) -> None:
    """Compare TARGET_URL with SOURCE_URL: schema, row counts, checksums, expectations.

    Both databases are read at the same time; the target is never changed."""
    try:
        for url in (source_url, target_url):
            parse_db_url(url)
        report = run_checks(source_url, target_url, expectations, workers=workers)
    except _USAGE_ERRORS as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_USAGE) from exc
    if as_json:
        from reslab.reports import render_json

        sys.stdout.write(render_json(report))
    else:
        _print_summary(report)
    raise typer.Exit(EXIT_MATCH if report.verdict == "pass" else EXIT_MISMATCH)


def _print_summary(report: CheckReport) -> None:
    from reslab.reports.explain import explain

    print(f"target {report.target}  vs  source {report.source}")
    failures, skipped = report.failures, report.skipped
    for check in skipped:
        typer.echo(f"{typer.style('SKIP', fg='yellow', bold=True)} {check.name}: {check.details}")
    passed = len(report.checks) - len(failures) - len(skipped)
    if not failures:
        counts = f"all {passed} checks passed" if not skipped else f"{passed} checks passed"
        counts += f", {len(skipped)} skipped (not run)" if skipped else ""
        typer.echo(f"{typer.style('MATCH', fg='green', bold=True)}: {counts}")
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{len(failures)} of {len(report.checks)} checks failed")
    table.add_column("check", no_wrap=True)
    for column in ("measured", "expected", "why"):
        table.add_column(column, overflow="fold")
    for c in failures:
        # long lists (columns, indexes) are summarised: the sentence says what differs
        values = (c.name, _brief(c.measured), _brief(c.expected), explain(c))
        table.add_row(*(escape("-" if v is None else str(v)) for v in values))
    console = Console()
    console.print(table)
    console.print("[bold red]MISMATCH[/]")


def _brief(value: object) -> object:
    return f"{len(value)} items" if isinstance(value, list) and len(value) > 3 else value


def register(app: typer.Typer) -> None:
    app.command(COMMAND)(db_diff)


def alone() -> Any:
    """The ``reslab db-diff`` command without assembling (and importing) the other commands."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command(COMMAND)(db_diff)
    return typer.main.get_command(app)
