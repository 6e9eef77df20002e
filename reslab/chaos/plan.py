"""A plan is the exact list of API calls an injection (or its revert) makes.

``--dry-run`` prints it; otherwise :func:`run_calls` walks it. A call can save a value from its
response (e.g. the new network ACL id) under a name that later calls use as ``${name}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore import xform_name

from reslab.chaos.lab import Lab


@dataclass(frozen=True)
class Call:
    service: str
    operation: str  # API name, e.g. "ReplaceNetworkAclAssociation"
    params: dict[str, Any]
    save: tuple[str, tuple[str, ...]] | None = None  # (name, path into the response)
    region: str | None = None

    def render(self, saved: dict[str, str] | None = None) -> str:
        params = _substitute(self.params, saved or {})
        args = ", ".join(f"{k}={_short(v)}" for k, v in params.items())
        where = f" [{self.region}]" if self.region else ""
        return f"{self.service}.{self.operation}({args}){where}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "operation": self.operation,
            "params": self.params,
            "save": [self.save[0], list(self.save[1])] if self.save else None,
            "region": self.region,
        }


@dataclass
class Plan:
    """What an injection will do: targets, calls, the data needed to undo it, and notes."""

    fault: str
    targets: list[str]
    calls: list[Call]
    undo: dict[str, Any] = field(default_factory=dict)
    revert_preview: list[Call] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def render(self, duration: float | None) -> str:
        lines = [f"fault: {self.fault}", "targets:"]
        lines += [f"  - {t}" for t in self.targets]
        lines.append("calls:")
        lines += [f"  {n}. {c.render()}" for n, c in enumerate(self.calls, 1)]
        if self.revert_preview:
            when = f"after {duration:g} s (or Ctrl-C)" if duration else "on `reslab recover`"
            lines.append(f"revert {when}:")
            lines += [f"  {n}. {c.render()}" for n, c in enumerate(self.revert_preview, 1)]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _short(value: Any) -> str:
    if isinstance(value, str):
        return value if len(value) <= 400 else value[:397] + "..."
    return json.dumps(value, sort_keys=True)


def _substitute(value: Any, saved: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, found in saved.items():
            value = value.replace("${" + name + "}", found)
        return value
    if isinstance(value, list):
        return [_substitute(v, saved) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, saved) for k, v in value.items()}
    return value


def _dig(response: Any, path: tuple[str, ...]) -> str:
    for key in path:
        response = response[key]
    return str(response)


def run_calls(
    lab: Lab,
    calls: list[Call],
    saved: dict[str, str],
    after_each: Callable[[int, Call], None] | None = None,
) -> dict[str, str]:
    """Make the calls in order; ``saved`` is filled (and shared) as values come back."""
    for index, call in enumerate(calls):
        client = lab.client(call.service, call.region)
        response = getattr(client, xform_name(call.operation))(**_substitute(call.params, saved))
        if call.save:
            saved[call.save[0]] = _dig(response, call.save[1])
        if after_each:
            after_each(index, call)
    return saved
