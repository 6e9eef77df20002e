"""Rows the web app would write (the lab's ``hits`` table), on autocommit connections."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

COLUMNS = "hit_id, client_ip, user_agent, hit_time, instance_id, availability_zone"


def write_hits(conn: Any, count: int, agent: str = "pytest") -> None:
    rows = [
        (
            uuid.uuid4().hex,
            "203.0.113.7",
            agent,
            datetime.now(UTC).replace(tzinfo=None),
            "i-1",
            "az-a",
        )
        for _ in range(count)
    ]
    with conn.cursor() as cur:
        cur.executemany(f"INSERT INTO hits ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)", rows)


def scalar(conn: Any, sql: str, params: tuple[Any, ...] = ()) -> Any:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0]
