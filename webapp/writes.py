"""The SQL of hits: a batch of rows into ``hits`` (one statement, one round trip), and the
per-second counts of the hits a process wrote into ``hit_counts`` (one row per second and
writing process), so that "hits of the last five minutes" is a sum over at most 300 rows per
process, whatever the size of ``hits``.

Both drivers use the ``%s`` parameter style. A batch is written exactly once even when it is
retried after a lost reply: rows whose ``hit_id`` is already stored are left out first
(``unwritten``), and ``hits`` ignores a duplicate ``hit_id`` anyway.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from webapp.db import Engine
from webapp.hit import Hit

RECENT_WINDOW = timedelta(minutes=5)

_HITS = (
    "INSERT INTO hits (hit_id, client_ip, user_agent, hit_time, instance_id, availability_zone) "
    "VALUES {rows} "
)
_HIT_ROW = "(%s, %s, %s, %s, %s, %s)"
_COUNTS = "INSERT INTO hit_counts (bucket, writer, hits) VALUES {rows} "
_COUNT_ROW = "(%s, %s, %s)"
ON_DUPLICATE: dict[Engine, tuple[str, str]] = {  # (hits, hit_counts)
    "postgres": (
        "ON CONFLICT (hit_id) DO NOTHING",
        "ON CONFLICT (bucket, writer) DO UPDATE SET hits = hit_counts.hits + EXCLUDED.hits",
    ),
    "mysql": (
        "ON DUPLICATE KEY UPDATE hit_id = hit_id",
        "ON DUPLICATE KEY UPDATE hits = hits + VALUES(hits)",
    ),
}
_RECENT = "SELECT COALESCE(SUM(hits), 0) FROM hit_counts WHERE bucket >= %s"


def second_of(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def per_second(hits: Sequence[Hit]) -> Counter[datetime]:
    return Counter(second_of(h.hit_time) for h in hits)


def write_hits(conn: Any, engine: Engine, hits: Sequence[Hit]) -> None:
    """Insert the hits: one multi-row INSERT, its own transaction."""
    sql = _HITS.format(rows=", ".join([_HIT_ROW] * len(hits))) + ON_DUPLICATE[engine][0]
    with conn.cursor() as cur:
        cur.execute(sql, [value for hit in hits for value in hit.row()])


def publish_counts(conn: Any, engine: Engine, writer: str, counts: Counter[datetime]) -> None:
    """Add a process's hits, by second, to ``hit_counts``."""
    rows = sorted(counts.items())
    sql = _COUNTS.format(rows=", ".join([_COUNT_ROW] * len(rows))) + ON_DUPLICATE[engine][1]
    with conn.cursor() as cur:
        cur.execute(sql, [value for second, n in rows for value in (second, writer, n)])


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
