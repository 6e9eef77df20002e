"""Command-line options that several command modules take with the same meaning and help.

The lab-selecting options (``--region``, ``--workshop``, ``--stack-prefix``) override the event's
keys of the same meaning (``region_name``, ``workshop``, ``stack_prefix``): see
:func:`lab_overrides`.
"""

from __future__ import annotations

from typing import Any

import typer

DEFAULT_NAME = "reslab"

LOCAL = typer.Option(False, "--local", help="Use the embedded local cloud.")
EVENT_FILE = typer.Option(None, "--event", help="Event JSON file.")
INSTALL_BASE_NAME = typer.Option(DEFAULT_NAME, "--name", help="Install base name.")
JSON = typer.Option(False, "--json", help="Print the result as JSON on stdout.")
REGION = typer.Option(
    None, "--region", help="The lab's region (overrides the event's region_name)."
)
WORKSHOP = typer.Option(None, "--workshop", help="The workshop tag (overrides the event's).")
STACK_PREFIX = typer.Option(
    None, "--stack-prefix", help="Prefix of the lab's stack names (overrides the event's)."
)


def lab_overrides(
    region: str | None, workshop: str | None, stack_prefix: str | None
) -> dict[str, Any]:
    """The event keys the lab-selecting options set (those given)."""
    given = {"region_name": region, "workshop": workshop, "stack_prefix": stack_prefix}
    return {key: value for key, value in given.items() if value is not None}
