"""One event key, as both events declare theirs: the deployment event (``reslab_lambda.event``)
and the restore event (``reslab.restore.event``). Each event is one table of :class:`Key` rows
walked by its validator."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: ``check(value, whole_event)`` -> what is wrong with the value, or None.
Check = Callable[[Any, Mapping[str, Any]], str | None]
_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    bool: "a boolean",
    dict: "an object",
    list: "a list",
}


def shown(value: str, limit: int = 60) -> str:
    """``repr(value)``, cut to about ``limit`` characters (a 5 MB value stays out of messages)."""
    return repr(value) if len(value) <= limit else repr(value[: limit - 3]) + "..."


@dataclass(frozen=True)
class Constraint:
    """What a CloudFormation parameter filled from this key allows: the templates'
    ``AllowedPattern``/``AllowedValues``/``MinLength``/``MaxLength`` are generated from it
    (``python -m reslab.parameters``) and the validator checks it, so the two cannot disagree.

    ``pattern`` must match the whole value (CloudFormation matches the entire value; here
    ``re.fullmatch``, ASCII classes as in Java's regular expressions): no ``^``/``$`` needed,
    and a trailing newline is refused."""

    pattern: str | None = None
    allowed: tuple[str, ...] = ()
    min_length: int | None = None
    max_length: int | None = None
    #: How the pattern reads in an error message ("a letter then up to 39 letters...").
    meaning: str = ""

    def length_problem(self, value: str) -> str | None:
        if self.min_length is not None and len(value) < self.min_length:
            return f"is {len(value)} characters long; at least {self.min_length} allowed"
        if self.max_length is not None and len(value) > self.max_length:
            return f"is {len(value)} characters long; at most {self.max_length} allowed"
        return None

    def problem(self, value: str) -> str | None:
        """What is wrong with ``value`` (lengths first, so a huge value is not matched)."""
        too_long_or_short = self.length_problem(value)
        if too_long_or_short:
            return too_long_or_short
        if self.allowed and value not in self.allowed:
            return f"{shown(value)} is not one of {', '.join(self.allowed)}"
        if self.pattern is not None and not re.fullmatch(self.pattern, value, re.ASCII):
            return f"{shown(value)} must be {self.meaning or 'a match of ' + self.pattern}"
        return None

    def template_fields(self) -> dict[str, Any]:
        """The parameter's constraint attributes, as a CloudFormation template spells them."""
        fields: dict[str, Any] = {}
        if self.pattern is not None:
            fields["AllowedPattern"] = self.pattern
        if self.allowed:
            fields["AllowedValues"] = list(self.allowed)
        if self.min_length is not None:
            fields["MinLength"] = self.min_length
        if self.max_length is not None:
            fields["MaxLength"] = self.max_length
        return fields


@dataclass(frozen=True)
class Key:
    """One event key: its JSON type(s), required or defaulted, its value check, the older names
    still accepted for it (``aliases``) and a line of help."""

    name: str
    types: type | tuple[type, ...]
    required: bool = False
    default: Any = None
    check: Check | None = None
    aliases: tuple[str, ...] = ()
    help: str = ""
    #: The template parameters' constraint (event keys that fill a template parameter).
    constraint: Constraint | None = None

    @property
    def type_tuple(self) -> tuple[type, ...]:
        return self.types if isinstance(self.types, tuple) else (self.types,)

    @property
    def type_name(self) -> str:
        """``a string``, ``an integer``... (the first accepted type)."""
        first = self.type_tuple[0]
        return _TYPE_NAMES.get(first, first.__name__)

    def accepts(self, value: Any) -> bool:
        """``value`` has one of the key's types (a JSON boolean is not an integer)."""
        if isinstance(value, bool) and bool not in self.type_tuple:
            return False
        return isinstance(value, self.type_tuple)


def unalias(raw: Mapping[str, Any], keys: Iterable[Key]) -> tuple[dict[str, Any], list[str]]:
    """``raw`` with each alias renamed to its key's name, and the problems (``"<alias>: ..."``)
    of an alias given together with its key."""
    event, problems = dict(raw), []
    for key in keys:
        for alias in key.aliases:
            if alias not in event:
                continue
            value = event.pop(alias)
            if key.name in event:
                problems.append(f"{alias}: an older name of {key.name}; give only {key.name}")
            else:
                event[key.name] = value
    return event, problems
