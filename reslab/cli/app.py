"""Entry point: assembles the command groups, each defined in its own module.

``reslab db-diff`` runs its module alone (it needs none of the packages the other groups
import, such as boto3), so that it starts at once; everything else assembles the whole app.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from reslab.errors import ReslabError


def build_app() -> typer.Typer:
    from reslab.cli import (
        backup_cmds,
        db_cmds,
        deploy_cmds,
        failover_cmds,
        fleet_cmds,
        inject_cmds,
        install_cmds,
        local_cmds,
        package_cmds,
        reset_cmds,
        sweep_cmds,
    )

    app = typer.Typer(
        name="reslab",
        help="Deploy the resiliency lab, break it on purpose, and prove its backups restore.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )
    #: Each exposes ``register(app: typer.Typer) -> None``; ``reslab --help`` lists their
    #: commands in this order.
    command_modules = (
        deploy_cmds,
        local_cmds,
        db_cmds,
        backup_cmds,
        inject_cmds,
        failover_cmds,
        package_cmds,
        sweep_cmds,
        reset_cmds,
        install_cmds,
        fleet_cmds,
    )
    for module in command_modules:
        module.register(app)
    return app


def __getattr__(name: str) -> Any:
    """``from reslab.cli.app import app``: the whole app, assembled on first use."""
    if name == "app":
        app = globals()["app"] = build_app()
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Run the CLI; a named error ends with ``Name: message`` as the last stderr line."""
    try:
        if sys.argv[1:2] == ["db-diff"]:
            from reslab.cli import db_cmds

            db_cmds.run_alone(sys.argv[2:])
        else:
            build_app()()
    except ReslabError as exc:
        print(f"{exc.name}: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
