"""Command-line options that several command modules take with the same meaning and help.

The lab-selecting options (``--region``, ``--workshop``, ``--stack-prefix``) override the event's
keys of the same meaning (``region_name``, ``workshop``, ``stack_prefix``): see
:func:`lab_overrides`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_type_hints

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


@dataclass(frozen=True)
class LabOptions:
    """The options every one-lab command (deploy, destroy, status, reset) takes after its own."""

    local: bool
    event_file: Path | None
    as_json: bool
    region: str | None
    workshop: str | None
    stack_prefix: str | None
    name: str

    def overrides(self) -> dict[str, Any]:
        return lab_overrides(self.region, self.workshop, self.stack_prefix)


#: LabOptions' fields as command parameters: (type, typer option).
_LAB_PARAMETERS: dict[str, tuple[Any, Any]] = {
    "local": (bool, LOCAL),
    "event_file": (Path | None, EVENT_FILE),
    "as_json": (bool, JSON),
    "region": (str | None, REGION),
    "workshop": (str | None, WORKSHOP),
    "stack_prefix": (str | None, STACK_PREFIX),
    "name": (str, INSTALL_BASE_NAME),
}


def lab_command(func: Callable[..., None]) -> Callable[..., None]:
    """``func(lab: LabOptions, **own)`` as a typer command: its own options, then the lab ones
    (declared once, here)."""
    hints = get_type_hints(func)
    own = [
        parameter.replace(annotation=hints[parameter.name])
        for parameter in inspect.signature(func).parameters.values()
        if parameter.name != "lab"
    ]
    shared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind)
        for name, (kind, option) in _LAB_PARAMETERS.items()
    ]

    def command(**values: Any) -> None:
        lab = LabOptions(**{name: values.pop(name) for name in _LAB_PARAMETERS})
        func(lab, **values)

    command.__signature__ = inspect.Signature(own + shared)  # type: ignore[attr-defined]
    command.__doc__, command.__name__ = func.__doc__, func.__name__
    return command
