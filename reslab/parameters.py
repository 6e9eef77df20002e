"""The lab templates' parameter constraints, written from the event table (one source).

Each template parameter that an event key fills (``event_parameters`` in
cloudformation/stacks.json) gets its ``AllowedPattern``/``AllowedValues``/``MinLength``/
``MaxLength`` from that key's :class:`~reslab_lambda.keys.Constraint` in ``EVENT_KEYS``: what the
validator accepts is what CloudFormation accepts. The installer template takes the same
constraints in ``reslab.installer.template``.

``python -m reslab.parameters`` rewrites those lines in cloudformation/*.yaml (nothing else in
the file changes); ``--check`` fails when a template is stale.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from reslab_lambda.event import KEYS_BY_NAME
from reslab_lambda.keys import Constraint
from reslab_lambda.stacks import stack_table

REPO_ROOT = Path(__file__).resolve().parent.parent
#: The constraint attributes this module owns, in the order they are written.
FIELDS = ("AllowedPattern", "AllowedValues", "MinLength", "MaxLength")
_PLAIN = re.compile(r"[A-Za-z0-9_.-]+")
_PARAM_INDENT, _FIELD_INDENT = "  ", "    "


def template_constraints() -> Iterator[tuple[str, str, str, Constraint]]:
    """(template path, parameter, event key, constraint) for every parameter an event key fills."""
    for spec in stack_table():
        for parameter, key in spec.event_parameters.items():
            constraint = KEYS_BY_NAME[key].constraint
            if constraint is None:
                raise ValueError(f"event key {key} fills {parameter} but has no constraint")
            yield spec.template_path, parameter, key, constraint


def _scalar(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    return value if _PLAIN.fullmatch(value) else json.dumps(value)


def field_lines(constraint: Constraint) -> list[str]:
    """The YAML lines of one parameter's constraint attributes."""
    lines = []
    for name, value in constraint.template_fields().items():
        if name == "AllowedPattern":
            rendered = "'" + value.replace("'", "''") + "'"
        elif name == "AllowedValues":
            rendered = "[" + ", ".join(_scalar(v) for v in value) + "]"
        else:
            rendered = _scalar(value)
        lines.append(f"{_FIELD_INDENT}{name}: {rendered}")
    return lines


def _parameters_block(lines: list[str]) -> tuple[int, int]:
    start = lines.index("Parameters:") + 1
    end = next(
        (i for i in range(start, len(lines)) if lines[i] and not lines[i].startswith(" ")),
        len(lines),
    )
    return start, end


def for_default(name: str, constraint: Constraint, default: Any) -> Constraint:
    """The constraint a parameter with template default ``default`` gets. An empty default (an
    optional key: empty event values are not passed, so the default applies, e.g.
    database.yaml's DmsReplicaRegion) must be accepted: no ``MinLength``, and a pattern must
    match the empty value."""
    if default != "":
        return constraint
    if constraint.pattern is not None and not re.fullmatch(constraint.pattern, ""):
        raise ValueError(f"{name}: default '' does not match its pattern {constraint.pattern}")
    return dataclasses.replace(constraint, min_length=None)


def rewrite(text: str, constraints: Mapping[str, Constraint]) -> str:
    """``text`` (a template) with the named parameters' constraint lines replaced."""
    lines = text.split("\n")
    start, end = _parameters_block(lines)
    out, i = lines[:start], start
    while i < end:
        line = lines[i]
        name = line[len(_PARAM_INDENT) :].rstrip(":")
        if not (line.startswith(_PARAM_INDENT) and line.endswith(":") and name in constraints):
            out.append(line)
            i += 1
            continue
        out.append(line)
        i += 1
        body = []
        while i < end and (lines[i].startswith(_FIELD_INDENT) or not lines[i].strip()):
            body.append(lines[i])
            i += 1
        trailing = []
        while body and not body[-1].strip():
            trailing.insert(0, body.pop())
        kept, skipping = [], False
        for entry in body:
            field = entry.strip().split(":", 1)[0]
            if entry.startswith(_FIELD_INDENT) and not entry.startswith(_FIELD_INDENT + " "):
                skipping = field in FIELDS
            if not skipping:
                kept.append(entry)
        empty_default = any(e.strip() in ('Default: ""', "Default: ''") for e in body)
        constraint = for_default(name, constraints[name], "" if empty_default else None)
        out += kept + field_lines(constraint) + trailing
    return "\n".join(out + lines[end:])


def expected() -> dict[Path, str]:
    """Each lab template with its constraints as the event table says."""
    by_template: dict[str, dict[str, Constraint]] = {}
    for template, parameter, _key, constraint in template_constraints():
        by_template.setdefault(template, {})[parameter] = constraint
    texts = {}
    for template, constraints in by_template.items():
        path = REPO_ROOT / template
        texts[path] = rewrite(path.read_text(encoding="utf-8"), constraints)
    return texts


def main(argv: list[str] | None = None) -> int:
    check = "--check" in (sys.argv[1:] if argv is None else argv)
    stale = []
    for path, text in expected().items():
        if path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path.relative_to(REPO_ROOT))
        if not check:
            path.write_text(text, encoding="utf-8")
    if check and stale:
        names = ", ".join(map(str, stale))
        print(f"stale parameter constraints in {names}: run python -m reslab.parameters")
        return 1
    for name in [] if check else stale:
        print(f"wrote {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
