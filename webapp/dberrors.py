"""What a database error means: "this row is bad" or "the database cannot take writes now".

Only errors about the data itself are row errors: the driver could not encode a value
(a NUL byte for PostgreSQL, a lone surrogate for either), or the server refused it (SQLSTATE
class 22 data exception, class 23 constraint violation). Every other error (connection
refused or cut, timeout, authentication, missing table, deadlock, read-only replica...) is
taken as "unavailable": the app degrades or answers 500, and a buffered hit is kept, never
dropped. A row error must never degrade the app: the database is fine, the row is not.
"""

from __future__ import annotations

from dataclasses import dataclass

from webapp.db import Engine


@dataclass(frozen=True)
class DbErrors:
    any: tuple[type[BaseException], ...]
    """Everything a database call can raise for a reason outside this app's code."""
    row: tuple[type[BaseException], ...]
    """The subset that means the database refused this row's values."""

    def is_row_error(self, exc: BaseException) -> bool:
        return isinstance(exc, self.row)


def db_errors(engine: Engine) -> DbErrors:
    if engine == "postgres":
        import psycopg

        return DbErrors(
            any=(psycopg.Error, OSError, UnicodeError),
            row=(psycopg.DataError, psycopg.IntegrityError, UnicodeError),
        )
    import pymysql

    return DbErrors(
        any=(pymysql.Error, OSError, UnicodeError),
        row=(pymysql.err.DataError, pymysql.err.IntegrityError, UnicodeError),
    )
