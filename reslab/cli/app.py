"""Entry point: assembles the command groups, each defined in its own module."""

from __future__ import annotations

import importlib
import sys

import typer

from reslab.errors import ReslabError

app = typer.Typer(
    name="reslab",
    help="Deploy the resiliency lab, break it on purpose, and prove its backups restore.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

#: Modules under reslab.cli that expose ``register(app: typer.Typer) -> None``.
COMMAND_MODULES = (
    "reslab.cli.deploy_cmds",
    "reslab.cli.local_cmds",
    "reslab.cli.db_cmds",
    "reslab.cli.backup_cmds",
    "reslab.cli.inject_cmds",
    "reslab.cli.package_cmds",
    "reslab.cli.fleet_cmds",
)

for _module_name in COMMAND_MODULES:
    try:
        _module = importlib.import_module(_module_name)
    except ModuleNotFoundError as exc:  # a command group not written yet
        if exc.name != _module_name:
            raise
        continue
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
