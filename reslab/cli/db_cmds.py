"""``reslab db-diff SOURCE_URL TARGET_URL``: does a (restored) database match its source?

Exit codes: 0 every check passed (checks that could not run are listed as SKIP), 1 some check
failed (listed, each with why), 2 the comparison could not run (bad URL, unreadable
expectations, unreachable database, bad arguments): ``Name: message`` on stderr.

``reslab db-diff`` runs this module alone (``run_alone``, from ``reslab.cli.app.main``): its
arguments are parsed with the standard library's argparse (typer builds a pydantic validator
per parameter on every run, about 0.1 s of CPU before any database work), and it imports
``reslab.checks`` and one database driver only (rich only to print a mismatch), so that the
command starts at once. The assembled CLI lists the command and hands it its arguments.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    import typer

    from reslab.checks.model import CheckReport

COMMAND = "db-diff"
EXIT_MATCH, EXIT_MISMATCH, EXIT_USAGE = 0, 1, 2
SUMMARY = "Compare TARGET_URL with SOURCE_URL: schema, row counts, checksums, expectations."
DESCRIPTION = f"{SUMMARY}\n\nBoth databases are read at the same time; the target is never changed."
#: Server processes per table and side when --workers is not given: ``chunks.DEFAULT_WORKERS``,
#: not imported here so that ``--help`` loads no database code (a test keeps them equal).
DEFAULT_WORKERS = 1


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse that ends a usage error like every other command: ``UsageError: message``."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"UsageError: {message}\n")


def parser() -> argparse.ArgumentParser:
    parse = _Parser(
        prog=f"reslab {COMMAND}",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parse.add_argument("source_url", metavar="SOURCE_URL", help="Database the target should match.")
    parse.add_argument(
        "target_url", metavar="TARGET_URL", help="Database to check (e.g. a restored snapshot)."
    )
    parse.add_argument(
        "--expectations",
        "-e",
        metavar="PATH",
        help="Expectations file (YAML or JSON, schema_version 1).",
    )
    parse.add_argument(
        "--workers",
        type=_positive,
        default=DEFAULT_WORKERS,
        metavar="N",
        help="Server processes per table and side: MySQL key ranges on that many connections,"
        f" PostgreSQL parallel workers (more pays when the servers have idle cores; default"
        f" {DEFAULT_WORKERS}).",
    )
    parse.add_argument(
        "--json", dest="as_json", action="store_true", help="Print the report JSON instead."
    )
    return parse


def db_diff(
    source_url: str,
    target_url: str,
    expectations: str | None = None,
    workers: int = DEFAULT_WORKERS,
    as_json: bool = False,
) -> int:
    """Run the comparison, print the summary (or the report JSON); the exit code."""
    from reslab.checks import run_checks
    from reslab.checks.errors import DatabaseUnreachable, InvalidExpectations
    from reslab.dburl import InvalidDatabaseUrl, parse_db_url

    try:
        for url in (source_url, target_url):
            parse_db_url(url)
        report = run_checks(source_url, target_url, expectations, workers=workers)
    except (InvalidDatabaseUrl, InvalidExpectations, DatabaseUnreachable) as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if as_json:
        from reslab.reports import render_json

        sys.stdout.write(render_json(report))
    else:
        _print_summary(report)
    return EXIT_MATCH if report.verdict == "pass" else EXIT_MISMATCH


def _label(text: str, colour: str) -> str:
    """A bold coloured word on a terminal, the plain word otherwise."""
    codes = {"green": 32, "yellow": 33}
    return f"\x1b[1;{codes[colour]}m{text}\x1b[0m" if sys.stdout.isatty() else text


def _print_summary(report: CheckReport) -> None:
    print(f"target {report.target}  vs  source {report.source}")
    failures, skipped = report.failures, report.skipped
    for check in skipped:
        print(f"{_label('SKIP', 'yellow')} {check.name}: {check.details}")
    passed = len(report.checks) - len(failures) - len(skipped)
    if not failures:
        counts = f"all {passed} checks passed" if not skipped else f"{passed} checks passed"
        counts += f", {len(skipped)} skipped (not run)" if skipped else ""
        print(f"{_label('MATCH', 'green')}: {counts}")
        return
    # only a mismatch needs the report's sentences and rich (imported here: a MATCH is printed
    # as soon as the comparison ends)
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from reslab.reports.explain import explain

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


def run_alone(args: list[str]) -> None:
    """``reslab db-diff ARGS``: parse, compare, exit with the command's code."""
    options = parser().parse_args(args)  # bad arguments: usage on stderr, exit 2
    sys.stdout.flush()
    raise SystemExit(db_diff(**vars(options)))


def register(app: typer.Typer) -> None:
    """List the command in the assembled CLI; its arguments go to ``run_alone`` untouched
    (one parser, argparse's, whichever way the command is reached)."""
    import typer

    def db_diff_command(ctx: typer.Context) -> None:
        run_alone(list(ctx.args))

    # typer reads the annotation at run time: the class itself (this module imports typer
    # only here)
    db_diff_command.__annotations__ = {"ctx": typer.Context, "return": None}
    settings = {"allow_extra_args": True, "ignore_unknown_options": True}
    app.command(COMMAND, help=DESCRIPTION, context_settings=settings, add_help_option=False)(
        db_diff_command
    )
