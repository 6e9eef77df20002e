"""Per-engine SQL: one module per engine, both exposing the same ``Dialect`` surface."""

from __future__ import annotations

from reslab.checks.engines.base import Dialect, engine_of
from reslab.checks.engines.mysql import MySqlDialect
from reslab.checks.engines.postgres import PostgresDialect

DIALECTS: dict[str, Dialect] = {"postgres": PostgresDialect(), "mysql": MySqlDialect()}


def dialect_for(conn: object) -> Dialect:
    """The dialect matching a psycopg 3 or PyMySQL connection."""
    return DIALECTS[engine_of(conn)]


__all__ = ["DIALECTS", "Dialect", "dialect_for", "engine_of"]
