"""``reslab install``: create or update the installer stack only (the lab's machinery)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from reslab.cli import deploy_cmds
from reslab.cli.options import DEFAULT_NAME, EVENT_FILE, LOCAL
from reslab.event import validate_event
from reslab.installer.install import install as install_machinery


def install(
    local: bool = LOCAL,
    event_file: Path | None = EVENT_FILE,
    name: str = typer.Option(
        DEFAULT_NAME, "--name", help="Installer stack name (prefixes its functions)."
    ),
    bucket: str | None = typer.Option(
        None, "--bucket", help="Artifact bucket, in --region (default: the event's boot_bucket)."
    ),
    region: str | None = typer.Option(
        None, "--region", help="Region of the install (default: the event's region_name)."
    ),
) -> None:
    """Create or update the installer stack (roles, Lambdas, state machines, report bucket,
    backup-check schedule, SSM parameters) after uploading its artifacts; print its outputs.

    Then start the deploy yourself: ``aws stepfunctions start-execution``.
    """
    is_local = deploy_cmds.use_local(local)
    overrides = {"region_name": region} if region else {}
    event = deploy_cmds.resolve_event(event_file, is_local, name, overrides)
    with deploy_cmds.target(is_local, None, None) as tgt:
        done = install_machinery(tgt.clients, name, validate_event(event), bucket)
    result: dict[str, Any] = {
        "stack": done.stack_id,
        "region": done.region,
        "machines": done.machines,
        "functions": done.functions,
        "report_bucket": done.report_bucket,
    }
    print(json.dumps(result, indent=2))


def register(app: typer.Typer) -> None:
    app.command("install")(install)
