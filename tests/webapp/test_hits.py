"""Every hit writes a row; the page and /api/status show what the database holds."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import datetime, timedelta

import requests

from tests.webapp.support import (
    AZ,
    IMAGE_URL,
    INSTANCE_ID,
    WORKSHOP,
    query,
    serve,
    settings_for,
)
from webapp.hit import utcnow

HOSTILE = [
    "1.2.3.4'); DROP TABLE hits; --",
    '<script>alert("x")</script>',
    "' OR '1'='1",
    "Robert'); DELETE FROM hits WHERE ('1'='1",
]


def minute_ago() -> datetime:
    return utcnow() - timedelta(minutes=1)


def rows(url: str) -> list[tuple[object, ...]]:
    return query(
        url,
        "SELECT client_ip, user_agent, instance_id, availability_zone FROM hits ORDER BY id",
    )


def test_hit_writes_row_with_fields(app_db: str) -> None:
    with serve(settings_for(app_db)) as base:
        page = requests.get(base + "/", headers={"User-Agent": "lab-probe/1.0"}, timeout=10)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert rows(app_db) == [("127.0.0.1", "lab-probe/1.0", INSTANCE_ID, AZ)]
    assert f'<dd id="instance-id">{INSTANCE_ID}</dd>' in page.text
    assert f'<dd id="az">{AZ}</dd>' in page.text
    assert f'<img id="website-image" src="{IMAGE_URL}"' in page.text
    assert '<dd id="recent-hits">1</dd>' in page.text
    # hit_time is UTC "now" (naive): within a minute of the test's clock.
    recent = query(app_db, "SELECT COUNT(*) FROM hits WHERE hit_time > %s", (minute_ago(),))
    assert recent == [(1,)]


def test_recent_count_grows_and_status_reports_it(app_db: str) -> None:
    with serve(settings_for(app_db)) as base:
        for expected in (1, 2, 3):
            page = requests.get(base + "/", timeout=10)
            assert f'<dd id="recent-hits">{expected}</dd>' in page.text
        status = requests.get(base + "/api/status", timeout=10).json()
        nodb = requests.get(base + "/nodb", timeout=10)
    assert status == {
        "instance_id": INSTANCE_ID,
        "availability_zone": AZ,
        "workshop": WORKSHOP,
        "mode": "fragile",
        "image_url": IMAGE_URL,
        "bad_rows": {"sanitised": 0, "dropped": 0},
        "resilient": False,
        "degraded": False,
        "recent_hits": 3,
        "buffered": 0,
        "dropped": 0,
    }
    assert nodb.status_code == 200 and INSTANCE_ID in nodb.text
    assert len(rows(app_db)) == 3  # neither /api/status nor /nodb writes


def test_old_hits_are_not_recent(app_db: str) -> None:
    query(
        app_db,
        "INSERT INTO hits (hit_id, client_ip, user_agent, hit_time, instance_id, "
        "availability_zone) VALUES (%s, %s, %s, %s, %s, %s)",
        ("0" * 32, "9.9.9.9", "old", "2020-01-01 00:00:00", "i-old", "az-old"),
    )
    with serve(settings_for(app_db)) as base:
        page = requests.get(base + "/", timeout=10)
    assert '<dd id="recent-hits">1</dd>' in page.text
    assert len(rows(app_db)) == 2


def test_x_forwarded_for_first_entry(app_db: str) -> None:
    with serve(settings_for(app_db)) as base:
        requests.get(base + "/", headers={"X-Forwarded-For": "203.0.113.7, 10.0.0.1"}, timeout=10)
        requests.get(base + "/", headers={"X-Forwarded-For": "198.51.100.2 ,192.0.2.1"}, timeout=10)
        requests.get(base + "/", headers={"X-Forwarded-For": ""}, timeout=10)
    assert [r[0] for r in rows(app_db)] == ["203.0.113.7", "198.51.100.2", "127.0.0.1"]


def test_hostile_headers_stored_verbatim_and_rendered_escaped(app_db: str) -> None:
    with serve(settings_for(app_db)) as base:
        pages = [
            requests.get(
                base + "/", headers={"X-Forwarded-For": bad, "User-Agent": bad}, timeout=10
            )
            for bad in HOSTILE
        ]
    assert [r[:2] for r in rows(app_db)] == [(bad, bad) for bad in HOSTILE]
    for bad, page in zip(HOSTILE, pages, strict=True):
        assert page.status_code == 200
        for field in ("client-ip", "user-agent"):
            shown = re.search(f'<dd id="{field}">(.*?)</dd>', page.text, re.S).group(1)
            assert html.unescape(shown) == bad
            assert not set(shown) & set("<>'\"")
        assert "<script>alert" not in page.text
    assert "&lt;script&gt;" in pages[1].text


def test_overlong_headers_are_cut_to_column_width(app_db: str) -> None:
    with serve(settings_for(app_db)) as base:
        page = requests.get(
            base + "/", headers={"X-Forwarded-For": "x" * 400, "User-Agent": "y" * 3000}, timeout=10
        )
    assert page.status_code == 200
    assert rows(app_db)[0][:2] == ("x" * 255, "y" * 1024)


def test_healthcheck_ok_with_database(app_db: str) -> None:
    with serve(settings_for(app_db)) as base:
        response = requests.get(base + "/healthcheck", timeout=10)
    assert (response.status_code, response.text) == (200, "ok\n")
    assert rows(app_db) == []


def test_unsafe_image_url_not_rendered(app_db: str) -> None:
    settings = replace(settings_for(app_db), image_url="javascript:alert(1)")
    with serve(settings) as base:
        page = requests.get(base + "/", timeout=10)
    assert "javascript:" not in page.text and "<img" not in page.text


def test_head_writes_a_hit_and_other_methods_are_refused(app_db: str) -> None:
    with serve(settings_for(app_db)) as base:
        head = requests.head(base + "/", timeout=10)
        post = requests.post(base + "/", timeout=10)
        missing = requests.get(base + "/nowhere", timeout=10)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["Content-Length"]) > 0
    assert (post.status_code, post.headers["Allow"]) == (405, "GET, HEAD")
    assert missing.status_code == 404
    assert len(rows(app_db)) == 1
