"""Named errors of the checks library (the class name is the public error name)."""

from __future__ import annotations

from reslab.errors import ReslabError


class InvalidExpectations(ReslabError):
    """The expectations file is unreadable, has an unknown key or a mistyped value."""


class DatabaseUnreachable(ReslabError):
    """A database named by URL could not be connected to."""


class UnsupportedConnection(ReslabError):
    """An object passed as a connection is neither a psycopg 3 nor a PyMySQL connection."""
