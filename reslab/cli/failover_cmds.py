"""``reslab failover --region`` (the regional failover exercise) and ``reslab db-rpo`` (the rows
it lost, counted with db-diff's checksums). docs/dms.md and docs/lab-guide.md."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from reslab.chaos.lab import DEFAULT_PREFIX
from reslab.cli.inject_cmds import AsJson, Endpoint, Local, Prefix, Workshop
from reslab.errors import ReslabError

EXIT_USAGE = 2


def _emit(data: dict[str, Any] | None, text: str) -> None:
    """``data`` as JSON (``--json``), else the line ``text``."""
    typer.echo(json.dumps(data, indent=2) if data is not None else text)


def _failed(exc: Exception, code: int) -> typer.Exit:
    print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
    return typer.Exit(code)


def failover_cmd(
    region: Annotated[
        bool,
        typer.Option(
            "--region", help="fail over to the secondary region's DMS target (the only kind)"
        ),
    ] = False,
    secondary: Annotated[
        str, typer.Option("--secondary", help="the secondary region (event secondary_region_name)")
    ] = "us-west-2",
    lab_region: Annotated[
        str | None, typer.Option("--lab-region", help="the primary region (env AWS_REGION)")
    ] = None,
    workshop: Workshop = None,
    prefix: Prefix = DEFAULT_PREFIX,
    endpoint: Endpoint = None,
    local: Local = False,
    quiet_s: Annotated[
        float, typer.Option("--quiet-seconds", help="the task is drained once this quiet")
    ] = 30.0,
    timeout_s: Annotated[float, typer.Option("--timeout", help="stop the task after this")] = 600.0,
    as_json: AsJson = False,
) -> None:
    """Make the DMS target in the secondary region the database: drain the task, stop it,
    print the target's endpoint and master secret and the time taken."""
    from reslab.chaos.failover import failover_region
    from reslab.cli.inject_cmds import make_lab

    if not region:
        print("FailoverKind: only the regional failover exists: pass --region", file=sys.stderr)
        raise typer.Exit(EXIT_USAGE)
    try:
        lab = make_lab(lab_region, workshop, prefix, endpoint, local)
        result = failover_region(
            lab, secondary, quiet_s, timeout_s, say=lambda t: typer.echo(t, err=True)
        )
    except ReslabError as exc:
        raise _failed(exc, 1) from exc
    _emit(
        result.to_dict() if as_json else None,
        f"failed over in {result.elapsed_s:.1f} s ({'drained' if result.drained else 'TIMED OUT'}, "
        f"{result.applied} changes applied); the database is now "
        f"{result.target_address}:{result.target_port} in {result.region}, master secret "
        f"{result.target_secret_arn}",
    )


def db_rpo_cmd(
    primary_url: Annotated[str, typer.Argument(metavar="PRIMARY_URL", help="the old primary")],
    target_url: Annotated[str, typer.Argument(metavar="TARGET_URL", help="the new primary")],
    table: Annotated[str, typer.Option("--table", help="table written by the app")] = "hits",
    as_json: AsJson = False,
) -> None:
    """Count the rows of TABLE that PRIMARY_URL holds and TARGET_URL does not (identically):
    the recovery point of a failover, with db-diff's in-database checksums."""
    from reslab.checks.rpo import count_lost_rows
    from reslab.dburl import parse_db_url

    try:
        for url in (primary_url, target_url):
            parse_db_url(url)
        lost = count_lost_rows(primary_url, target_url, table)
    except ReslabError as exc:
        raise _failed(exc, EXIT_USAGE) from exc
    _emit(
        lost.to_dict() if as_json else None,
        f"RPO: {lost.lost} row(s) of {lost.table} lost ({lost.primary_rows} on the primary, "
        f"{lost.target_rows} on the target; {lost.queries} range summaries)"
        + (f"; lost {lost.key}s: {', '.join(map(str, lost.lost_keys))}" if lost.lost else ""),
    )


def register(app: typer.Typer) -> None:
    app.command("failover")(failover_cmd)
    app.command("db-rpo")(db_rpo_cmd)
