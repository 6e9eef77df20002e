"""The recovery point of a failover, counted: the rows of a table that the old primary holds
and the new primary (a DMS target, a promoted replica) does not hold identically.

Counted with the checks' own in-database summaries (``Dialect.table_data``: row count and
order-independent checksum of a key range, the numbers behind ``reslab db-diff``): both sides
are compared range by range on the table's integer primary key; an equal range is done, an
unequal one is halved, down to single keys. Only those keys' rows are read, so a lab of a
million rows that lost ten costs a few dozen summary queries, not a copy of the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reslab.checks.connection import opened
from reslab.checks.engines import dialect_for
from reslab.checks.model import TableFingerprint
from reslab.errors import ReslabError

#: The lab's table the web app writes one row per page view into.
DEFAULT_TABLE = "hits"
#: Lost keys listed in a result (the count is always complete).
LISTED = 20


class RpoUncountable(ReslabError):
    """The table cannot be compared by key (missing, or no single integer primary key)."""


@dataclass
class LostRows:
    """Rows of ``table`` the primary has and the target has not (or not identically)."""

    table: str
    key: str
    primary_rows: int
    target_rows: int
    lost: int
    #: The first :data:`LISTED` lost keys.
    lost_keys: list[int] = field(default_factory=list)
    #: Summary queries made per side.
    queries: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _table(dialect: Any, conn: Any, name: str) -> TableFingerprint:
    for table in dialect.tables(conn):
        if table.name == name:
            return table
    raise RpoUncountable(f"no table {name!r} in {dialect.database(conn)}")


def count_lost_rows(primary: Any, target: Any, table: str = DEFAULT_TABLE) -> LostRows:
    """``primary`` and ``target``: connections or database URLs (``reslab db-diff``'s)."""
    with opened(primary) as pconn, opened(target) as tconn:
        dialect = dialect_for(pconn)
        fingerprint = _table(dialect, pconn, table)
        key = dialect.chunk_key(fingerprint)
        if key is None:
            raise RpoUncountable(f"table {table!r} has no single integer primary key")
        target_table = _table(dialect_for(tconn), tconn, table)
        result = LostRows(table, key, 0, 0, 0)
        for side, conn, fp in (("primary", pconn, fingerprint), ("target", tconn, target_table)):
            rows = dialect_for(conn).table_data(conn, fp)
            setattr(result, f"{side}_rows", rows[0] if rows else 0)
        bounds = dialect.key_bounds(pconn, fingerprint, key)
        if bounds is None:
            return result
        pending = [bounds]
        while pending:
            low, high = pending.pop()
            ours = dialect.table_data(pconn, fingerprint, (key, low, high))
            theirs = dialect_for(tconn).table_data(tconn, target_table, (key, low, high))
            result.queries += 1
            if ours is None or ours[0] == 0 or ours[:2] == (theirs or (0, "0"))[:2]:
                continue
            if low == high:
                result.lost += 1
                if len(result.lost_keys) < LISTED:
                    result.lost_keys.append(low)
                continue
            middle = (low + high) // 2
            pending += [(middle + 1, high), (low, middle)]
        result.lost_keys.sort()
        return result
