"""One event key, as both events declare theirs: the deployment event (``reslab_lambda.event``)
and the restore event (``reslab.restore.event``). Each event is one table of :class:`Key` rows
walked by its validator."""

from __future__ import annotations

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
