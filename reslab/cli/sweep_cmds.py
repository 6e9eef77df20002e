"""``reslab sweep``: find everything still tagged with a workshop; delete it with --delete."""

from __future__ import annotations

import json

import typer
from rich.console import Console

from reslab import sweep as sweeping
from reslab.cli import deploy_cmds
from reslab.cli.options import LOCAL

_stderr = Console(stderr=True, soft_wrap=True)


def sweep(
    workshop: str = typer.Option(..., "--workshop", help="Value of the workshop tag."),
    regions: list[str] = typer.Option(  # noqa: B008
        ["us-east-2", "us-west-2"], "--region", help="Region to sweep (repeatable)."
    ),
    delete: bool = typer.Option(False, "--delete", help="Delete (default: dry run, list only)."),
    local: bool = LOCAL,
    as_json: bool = typer.Option(False, "--json", help="Print what was found as JSON."),
) -> None:
    """Find everything still tagged with the workshop; delete it in a safe order with --delete."""
    is_local = deploy_cmds.use_local(local)
    with deploy_cmds.target(is_local, None, None, start=False) as tgt:
        found = sweeping.find(tgt.clients, workshop, regions)
        out = Console(soft_wrap=True)
        if as_json:
            print(json.dumps([f.to_json() for f in found], indent=2))
        else:
            out.print(sweeping.table(found, workshop))
        if not delete:
            kept = [f for f in found if f.kind == "other"]
            _stderr.print(
                f"dry run: {len(found)} resource(s); add --delete to remove "
                f"{len(found) - len(kept)} of them"
                + (f" ({len(kept)} kept: sweep has no row for their type)" if kept else "")
            )
            return
        poll = 1.0 if tgt.local else 5.0
        report = sweeping.delete(tgt.clients, workshop, regions, _stderr.print, poll)
        remaining = sweeping.find(tgt.clients, workshop, regions)
    _stderr.print(
        f"deleted {report.deleted}, failed {len(report.failures)}, still tagged {len(remaining)}"
    )
    if remaining:
        _stderr.print(sweeping.table(remaining, workshop))
        for item in remaining:
            why = sweeping.why_kept(item, report.failures)
            _stderr.print(f"kept {item.kind} {item.id} ({item.region}): {why}", markup=False)
    if report.failures or remaining:
        raise sweeping.SweepIncomplete(
            "; ".join(report.failures[:5]) or f"{len(remaining)} resource(s) still tagged"
        )


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)
