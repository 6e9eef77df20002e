"""A row the database refuses is isolated (stored sanitised, or dropped and counted), never
taken for an outage; a real outage after it still loses no hit."""

from __future__ import annotations

from dataclasses import replace

import requests

from tests.webapp.support import TcpProxy, query, serve, settings_for
from tests.webapp.test_outage import count, eventually, recovered
from webapp.db import parse_db_url
from webapp.dberrors import db_errors
from webapp.hit import Hit
from webapp.pool import Pool
from webapp.writer import HitWriter, Job

NUL_AGENT = "evil\x00agent"
# Raw bytes on the wire: invalid UTF-8 (\xff\xfe), then a valid "é" (\xc3\xa9).
RAW_AGENT = b"bad \xff\xfe utf8 \xc3\xa9"
DECODED_AGENT = "bad \ufffd\ufffd utf8 \u00e9"
HOSTILE: list[dict[str, str | bytes]] = [
    {"User-Agent": NUL_AGENT},
    {"User-Agent": RAW_AGENT},
    {"User-Agent": "y" * 5000, "X-Forwarded-For": "x" * 400},
    {"User-Agent": "emoji \U0001f600 agent".encode()},
]


def engine(url: str) -> str:
    return parse_db_url(url).engine


def stored_nul_agent(url: str) -> str:
    """What a NUL byte in a User-Agent becomes: MySQL stores it, PostgreSQL refuses it."""
    return NUL_AGENT if engine(url) == "mysql" else "evil?agent"


def agents(url: str) -> list[str]:
    return [str(r[0]) for r in query(url, "SELECT user_agent FROM hits ORDER BY id")]


def status(base: str) -> dict[str, object]:
    return requests.get(base + "/api/status", timeout=10).json()


def test_hostile_rows_then_outage_lose_no_hit(app_db: str, proxy: TcpProxy) -> None:
    refused = 1 if engine(app_db) == "postgres" else 0  # the NUL agent, per pass
    with serve(settings_for(app_db, resilient=True, port=proxy.port)) as base:
        first = [requests.get(base + "/", headers=h, timeout=10) for h in HOSTILE]
        after_hostile = status(base)
        proxy.stop()
        away = [
            requests.get(base + "/", headers={"User-Agent": agent}, timeout=10)
            for agent in ("ua-0", NUL_AGENT, "ua-1")
        ]
        proxy.start()
        eventually(lambda: recovered(base))
        last = requests.get(base + "/", headers={"User-Agent": "ua-last"}, timeout=10)
        final = status(base)

    assert [r.status_code for r in first] == [200] * len(HOSTILE)
    assert not any('id="degraded"' in r.text for r in first)  # the database was fine
    assert after_hostile["degraded"] is False
    assert after_hostile["bad_rows"] == {"sanitised": refused, "dropped": 0}
    assert [r.status_code for r in away] == [200] * 3
    assert all('id="degraded"' in r.text for r in away)  # a real outage still degrades
    assert last.status_code == 200 and 'id="degraded"' not in last.text
    assert final["bad_rows"] == {"sanitised": 2 * refused, "dropped": 0}
    assert (final["buffered"], final["dropped"], final["degraded"]) == (0, 0, False)
    # No hit lost: every request is a row, the buffered ones in order, the bad one among them.
    assert count(app_db) == len(HOSTILE) + len(away) + 1
    nul = stored_nul_agent(app_db)
    assert agents(app_db) == [
        nul,
        DECODED_AGENT,
        "y" * 1024,
        "emoji \U0001f600 agent",
        "ua-0",
        nul,
        "ua-1",
        "ua-last",
    ]
    assert query(app_db, "SELECT COALESCE(SUM(hits), 0) FROM hit_counts") == [(count(app_db),)]


def test_fragile_serves_a_hostile_row(app_db: str) -> None:
    with serve(settings_for(app_db)) as base:
        bad = requests.get(base + "/", headers={"User-Agent": NUL_AGENT}, timeout=10)
        good = requests.get(base + "/", headers={"User-Agent": "ua-good"}, timeout=10)
        health = requests.get(base + "/healthcheck", timeout=10)
    assert (bad.status_code, good.status_code, health.status_code) == (200, 200, 200)
    assert agents(app_db) == [stored_nul_agent(app_db), "ua-good"]


def test_a_batch_isolates_its_bad_rows(app_db: str) -> None:
    """One transaction's worth of hits with a row storable only sanitised and one storable
    in no form: the good rows are written, the first sanitised, the second dropped."""
    target = parse_db_url(app_db)
    errors = db_errors(target.engine)
    writer = HitWriter(Pool(target, errors), target.engine, "i-batch")
    good = [Hit.now("10.0.0.1", f"ua-{i}", "i-batch", "az") for i in range(6)]
    unstorable = replace(good[0], hit_id="f" * 40, user_agent="too-long-id")  # CHAR(32)
    needs_cleaning = replace(good[0], hit_id="e" * 32, user_agent="bad\x00one\udc80")
    hits = good[:2] + [unstorable] + good[2:4] + [needs_cleaning] + good[4:]
    jobs = [Job(hit) for hit in hits]
    writer.run(jobs)  # queued together: one batch

    assert [j.error for j in jobs] == [None] * len(hits)
    assert [j.outcome for j in jobs] == ["written"] * 2 + ["dropped"] + ["written"] * 2 + [
        "sanitised"
    ] + ["written"] * 2
    assert (writer.bad_rows.sanitised, writer.bad_rows.dropped) == (1, 1)
    stored = set(agents(app_db))
    assert stored == {f"ua-{i}" for i in range(6)} | {"bad?one?"}
    # The per-second counts hold exactly the rows written.
    assert query(app_db, "SELECT COALESCE(SUM(hits), 0) FROM hit_counts") == [(7,)]
    assert writer.recent_count() == 7
    writer.pool.clear()
    assert errors.is_row_error(UnicodeEncodeError("utf-8", "\udc80", 0, 1, "surrogates"))
