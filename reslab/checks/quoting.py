"""One identifier-quoting helper per engine. Values never come here: they are parameters."""

from __future__ import annotations

from collections.abc import Callable


def quote_pg(name: str) -> str:
    """PostgreSQL: double quotes, embedded quotes doubled."""
    _reject_nul(name)
    return '"' + name.replace('"', '""') + '"'


def quote_mysql(name: str) -> str:
    """MySQL/MariaDB: backticks, embedded backticks doubled."""
    _reject_nul(name)
    return "`" + name.replace("`", "``") + "`"


QUOTERS: dict[str, Callable[[str], str]] = {"postgres": quote_pg, "mysql": quote_mysql}


def quote_ident(engine: str, *parts: str) -> str:
    """Quote each part of a qualified identifier: ``quote_ident("postgres", "s", "t")``."""
    quote = QUOTERS[engine]
    return ".".join(quote(p) for p in parts)


def _reject_nul(name: str) -> None:
    if "\x00" in name or not name:
        raise ValueError(f"invalid SQL identifier {name!r}")
