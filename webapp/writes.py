"""The SQL of a hit: a batch of rows into ``hits`` and, in the same transaction, their number
into ``hit_counts`` (one row per second and writing process), so that "hits of the last five
minutes" is a sum over at most 300 rows per process, whatever the size of ``hits``.

Both drivers use the ``%s`` parameter style. A batch is written exactly once even when it is
retried after a lost reply: rows whose ``hit_id`` is already stored are left out first
(``unwritten``), and ``hits`` ignores a duplicate ``hit_id`` anyway.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from webapp.db import Engine
from webapp.hit import Hit

RECENT_WINDOW = timedelta(minutes=5)

# PostgreSQL: one statement (one round trip, its own transaction). The arrays keep its text
# the same for any batch size, so the server plans it once per connection.
_PG_BATCH = """
WITH written AS (
    INSERT INTO hits (hit_id, client_ip, user_agent, hit_time, instance_id, availability_zone)
    SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::timestamp[], %s::text[],
                         %s::text[])
    ON CONFLICT (hit_id) DO NOTHING
    RETURNING hit_time
)
INSERT INTO hit_counts (bucket, writer, hits)
SELECT date_trunc('second', hit_time), %s, COUNT(*) FROM written GROUP BY 1
ON CONFLICT (bucket, writer) DO UPDATE SET hits = hit_counts.hits + EXCLUDED.hits
"""
# MySQL/MariaDB: a transaction of two multi-row INSERTs, sent as one multi-statement string
# (one round trip; the pool's connections allow it, and values are still escaped parameters).
_MY_BEGIN = "BEGIN; "
_MY_HITS = (
    "INSERT INTO hits (hit_id, client_ip, user_agent, hit_time, instance_id, availability_zone) "
    "VALUES {rows} ON DUPLICATE KEY UPDATE hit_id = hit_id; "
)
_MY_HIT_ROW = "(%s, %s, %s, %s, %s, %s)"
_MY_COUNTS = (
    "INSERT INTO hit_counts (bucket, writer, hits) VALUES {rows} "
    "ON DUPLICATE KEY UPDATE hits = hits + VALUES(hits); COMMIT"
)
_MY_COUNT_ROW = "(%s, %s, %s)"
_RECENT = "SELECT COALESCE(SUM(hits), 0) FROM hit_counts WHERE bucket >= %s"


def second_of(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def per_second(hits: Sequence[Hit]) -> Counter[datetime]:
    return Counter(second_of(h.hit_time) for h in hits)


def write_batch(conn: Any, engine: Engine, writer: str, hits: Sequence[Hit]) -> None:
    """Insert the hits and add them to ``hit_counts``, in one transaction."""
    if engine == "postgres":
        columns = list(zip(*(h.row() for h in hits), strict=True))
        with conn.cursor() as cur:
            cur.execute(_PG_BATCH, [list(c) for c in columns] + [writer])
        return
    counts = sorted(per_second(hits).items())
    sql = (
        _MY_BEGIN
        + _MY_HITS.format(rows=", ".join([_MY_HIT_ROW] * len(hits)))
        + _MY_COUNTS.format(rows=", ".join([_MY_COUNT_ROW] * len(counts)))
    )
    params = [v for h in hits for v in h.row()] + [
        v for second, n in counts for v in (second, writer, n)
    ]
    with conn.cursor() as cur:
        try:
            cur.execute(sql, params)
            while cur.nextset():  # the server stops at the first failing statement
                pass
        except BaseException:
            with contextlib.suppress(Exception):
                conn.rollback()
            raise


def unwritten(conn: Any, hits: Sequence[Hit]) -> list[Hit]:
    """The hits whose ``hit_id`` is not in the table yet."""
    marks = ", ".join(["%s"] * len(hits))
    with conn.cursor() as cur:
        cur.execute(f"SELECT hit_id FROM hits WHERE hit_id IN ({marks})", [h.hit_id for h in hits])  # noqa: S608 (placeholders only)
        stored = {str(row[0]) for row in cur.fetchall()}
    return [h for h in hits if h.hit_id not in stored]


def recent_total(conn: Any, now: datetime) -> int:
    """Hits of the last five minutes (to the second) from ``hit_counts``."""
    with conn.cursor() as cur:
        cur.execute(_RECENT, (second_of(now - RECENT_WINDOW),))
        row = cur.fetchone()
    return int(row[0]) if row else 0
