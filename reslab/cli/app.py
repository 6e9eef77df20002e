"""Entry point: assembles the command groups, each defined in its own module."""

from __future__ import annotations

import sys

import typer

from reslab.cli import (
    backup_cmds,
    db_cmds,
    deploy_cmds,
    fleet_cmds,
    inject_cmds,
    install_cmds,
    local_cmds,
    package_cmds,
    reset_cmds,
    sweep_cmds,
)
from reslab.errors import ReslabError

app = typer.Typer(
    name="reslab",
    help="Deploy the resiliency lab, break it on purpose, and prove its backups restore.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

#: Each exposes ``register(app: typer.Typer) -> None``; ``reslab --help`` lists their commands
#: in this order.
COMMAND_MODULES = (
    deploy_cmds,
    local_cmds,
    db_cmds,
    backup_cmds,
    inject_cmds,
    package_cmds,
    sweep_cmds,
    reset_cmds,
    install_cmds,
    fleet_cmds,
)

for _module in COMMAND_MODULES:
    _module.register(app)


def main() -> None:
    """Run the CLI; a named error ends with ``Name: message`` as the last stderr line."""
    try:
        app()
    except ReslabError as exc:
        print(f"{exc.name}: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
