"""Entry point: assembles the command groups, each defined in its own module.

``reslab db-diff`` runs its module alone (it needs none of the packages the other groups
import, such as boto3, nor typer), so that it starts at once; everything else assembles the
whole app.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer


def build_app() -> typer.Typer:
    import typer

    from reslab.cli import (
        backup_cmds,
        db_cmds,
        deploy_cmds,
        failover_cmds,
        fleet_cmds,
        inject_cmds,
        install_cmds,
        local_cmds,
        mode_cmds,
        package_cmds,
        reset_cmds,
        sweep_cmds,
    )

    app = typer.Typer(
        name="reslab",
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
        mode_cmds,
        package_cmds,
        sweep_cmds,
        reset_cmds,
        install_cmds,
        fleet_cmds,
    )

    def show_version(show: bool) -> None:
        if show:
            print(f"reslab {version()}")
            raise typer.Exit(0)

    def root(
        _version: bool = typer.Option(
            False,
            "--version",
            is_eager=True,
            callback=show_version,
            help="Print reslab's version and exit.",
        ),
    ) -> None:
        """Deploy the resiliency lab, break it on purpose, and prove its backups restore."""

    app.callback()(root)
    for module in command_modules:
        module.register(app)
    return app


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("reslab")
    except PackageNotFoundError:  # pragma: no cover - a source tree without pip install
        return "unknown"


def __getattr__(name: str) -> Any:
    """``from reslab.cli.app import app``: the whole app, assembled on first use."""
    if name == "app":
        app = globals()["app"] = build_app()
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run(args: Sequence[str] | None = None) -> int:
    """Run one command line; return its exit code. Whatever fails ends as one
    ``Name: message`` line, the last on stderr (:mod:`reslab.cli.failures`), never a traceback."""
    argv = list(sys.argv[1:] if args is None else args)
    if argv in (["--help"], ["--version"]):  # answered without importing the commands
        from reslab.cli import summary

        print(summary.root_help() if argv == ["--help"] else f"reslab {version()}")
        return 0
    try:
        if argv[:1] == ["db-diff"]:
            from reslab.cli import db_cmds

            db_cmds.run_alone(argv[1:])  # exits with the command's code
            return 0
        import typer

        command = typer.main.get_command(build_app())
        result = command.main(args=argv, prog_name="reslab", standalone_mode=False)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException as exc:  # noqa: BLE001 - the one place every failure is worded
        from reslab.cli.failures import one_line

        return one_line(exc)
    return result if isinstance(result, int) else 0


def main() -> None:
    """The ``reslab`` script: :func:`run` with this process's arguments."""
    code = run()
    # The process ends here: spare its exit the final garbage collection over every object the
    # imports made (after db-diff's verdict, psycopg's alone cost 0.05-0.1 s of CPU while the
    # caller waited). Exit handlers and flushing still run; the OS frees the memory.
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    main()
