"""The CLI's one error handler: every failure ends as one ``Name: message`` line on stderr.

``reslab.cli.app.run`` calls :func:`one_line` with whatever escaped a command. reslab's named
errors (:mod:`reslab.errors`) keep their name; click's usage errors, OS errors, AWS errors
(``ClientError`` under its error code), JSON/YAML/CSV parse errors get theirs. Anything else is a
bug: ``InternalError: <type>: message``, and ``RESLAB_DEBUG=1`` shows its traceback.

Imports stay light (stdlib and typer): ``reslab db-diff`` goes through here too.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass

from typer import exceptions as typer_exceptions
from typer._click import exceptions as click_exceptions

from reslab.errors import ReslabError

#: Exit codes: 1 a named failure, 2 a usage error (click's), 130 interrupted (shell's convention).
EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
DEBUG_ENV = "RESLAB_DEBUG"


@dataclass(frozen=True)
class Failure:
    name: str
    message: str
    code: int = EXIT_FAILURE
    #: Printed before the one line (click's "Try 'reslab x --help' for help.").
    hint: str = ""

    @property
    def line(self) -> str:
        message = " ".join(self.message.split()) or "(no message)"
        return f"{self.name}: {message}"


def _os_error(exc: OSError) -> Failure:
    where = f": {exc.filename}" if exc.filename else ""
    return Failure(type(exc).__name__, f"{exc.strerror or exc}{where}")


def _usage(exc: click_exceptions.UsageError) -> Failure:
    ctx = exc.ctx
    hint = ""
    if ctx is not None:
        hint = f"Try '{ctx.command_path} {ctx.help_option_names[0]}' for help."
    name = type(exc).__name__
    if name == "NoArgsIsHelpError":
        name, message = "UsageError", "missing command (the list is above)"
        if ctx is not None:
            print(ctx.get_help())
        hint = ""
    else:
        message = exc.format_message()
    return Failure(name, message, exc.exit_code or EXIT_USAGE, hint)


def _aws(exc: BaseException) -> Failure | None:
    """botocore's errors, only when botocore was imported (db-diff never imports it)."""
    if "botocore.exceptions" not in sys.modules:
        return None
    from botocore import exceptions as boto

    if isinstance(exc, boto.ClientError):
        error = exc.response.get("Error", {})
        operation = getattr(exc, "operation_name", "")
        message = str(error.get("Message") or exc)
        return Failure(str(error.get("Code") or "ClientError"), f"{operation}: {message}")
    if isinstance(exc, boto.NoCredentialsError):
        return Failure(
            "NoCredentialsError",
            f"{exc} (configure AWS credentials, or add --local for the local cloud)",
        )
    if isinstance(exc, boto.EndpointConnectionError):
        return Failure(
            "EndpointConnectionError",
            f"{exc} (is the local cloud still running? `reslab local status`)",
        )
    if isinstance(exc, boto.BotoCoreError):
        return Failure(type(exc).__name__, str(exc))
    return None


def _parse_error(exc: BaseException) -> Failure | None:
    if isinstance(exc, json.JSONDecodeError):
        return Failure("InvalidJson", str(exc))
    if "yaml" in sys.modules:
        import yaml

        if isinstance(exc, yaml.YAMLError):
            return Failure("InvalidYaml", str(exc))
    if "csv" in sys.modules:
        import csv

        if isinstance(exc, csv.Error):
            return Failure("InvalidCsv", str(exc))
    if isinstance(exc, UnicodeDecodeError):
        return Failure("UnreadableText", f"not UTF-8 text ({exc.reason} at byte {exc.start})")
    return None


def describe(exc: BaseException) -> Failure:
    """The one line (and exit code) for an exception that ended a command."""
    if isinstance(exc, ReslabError):
        return Failure(exc.name, str(exc))
    if isinstance(exc, click_exceptions.UsageError):
        return _usage(exc)
    if isinstance(exc, click_exceptions.ClickException):
        return Failure(type(exc).__name__, exc.format_message(), exc.exit_code)
    if isinstance(exc, (typer_exceptions.Abort, KeyboardInterrupt)):
        return Failure("Interrupted", "stopped by Ctrl-C", EXIT_INTERRUPTED)
    found = _aws(exc) or _parse_error(exc)
    if found is not None:
        return found
    if isinstance(exc, OSError):
        return _os_error(exc)
    return Failure(
        "InternalError",
        f"{type(exc).__name__}: {exc} (a reslab bug: rerun with {DEBUG_ENV}=1 for the traceback)",
    )


def one_line(exc: BaseException) -> int:
    """Print the failure's line (last on stderr) and return the exit code."""
    failure = describe(exc)
    if failure.name == "InternalError" and os.environ.get(DEBUG_ENV):
        raise exc
    sys.stdout.flush()
    if failure.hint:
        print(failure.hint, file=sys.stderr)
    print(failure.line, file=sys.stderr)
    return failure.code
