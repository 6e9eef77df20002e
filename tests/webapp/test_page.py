"""The page as a participant sees it, and its recent-hit count over real HTTP from real
gunicorn servers: correct within its documented staleness (``webapp.recent``)."""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import requests

from tests.webapp.support import AZ, IMAGE_URL, INSTANCE_ID, query, serve, settings_for
from tests.webapp.test_entrypoints import app_env, free_port, running, wait_http
from webapp.hit import utcnow
from webapp.recent import STALENESS_S

BIN = Path(sys.executable).parent
COUNT = re.compile(r'<dd id="recent-hits">(\d+)</dd>')


def shown(page: requests.Response) -> int:
    assert page.status_code == 200, page.text
    match = COUNT.search(page.text)
    assert match, page.text
    return int(match.group(1))


def test_page_shows_the_lab_escaped_and_readable(app_db: str) -> None:
    settings = replace(settings_for(app_db), workshop="Resiliency Day <b>1</b>")
    with serve(settings) as base:
        page = requests.get(base + "/", timeout=10).text
        status = requests.get(base + "/api/status", timeout=10).json()
    with serve(replace(settings, resilient=True)) as base:
        resilient = requests.get(base + "/", timeout=10).text
    assert "<title>Resiliency Day &lt;b&gt;1&lt;/b&gt;</title>" in page
    assert '<dd id="workshop">Resiliency Day &lt;b&gt;1&lt;/b&gt;</dd>' in page
    assert "<b>1</b>" not in page
    assert '<dd id="mode">fragile</dd>' in page and '<dd id="mode">resilient</dd>' in resilient
    assert f'<dd id="instance-id">{INSTANCE_ID}</dd>' in page and f'<dd id="az">{AZ}</dd>' in page
    assert f'<img id="website-image" src="{IMAGE_URL}"' in page
    # The projector stylesheet: large type, black on white.
    assert "font: 1.75rem/1.35" in page and "background: #fff; color: #000;" in page
    assert status["workshop"] == "Resiliency Day <b>1</b>" and status["mode"] == "fragile"


@dataclass
class Visit:
    server: str
    started: float
    finished: float
    count: int


@contextmanager
def gunicorn(url: str, instance_id: str, workers: int = 1) -> Iterator[str]:
    port = free_port()
    cmd = [
        str(BIN / "gunicorn"),
        "--config=python:webapp.gunicorn_conf",
        f"--bind=127.0.0.1:{port}",
        "webapp.wsgi:app",
    ]
    env = {**app_env(url), "WEBAPP_INSTANCE_ID": instance_id}
    env.update(WEBAPP_WORKERS=str(workers), WEBAPP_THREADS="4")
    with running(cmd, env) as proc:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/healthcheck", proc)
        yield base


def test_recent_count_is_correct_within_its_staleness(app_db: str) -> None:
    """Two instances on one database, visited in turns: a page counts every hit of its own
    instance, every hit of the other finished more than STALENESS_S before it was asked for,
    and nothing that is not there; after STALENESS_S of quiet both pages are exact. Hits of
    more than five minutes ago are not counted."""
    now = utcnow()
    for minutes_ago, hits in ((6, 50), (4, 7)):  # an earlier writer's traffic
        query(
            app_db,
            "INSERT INTO hit_counts (bucket, writer, hits) VALUES (%s, %s, %s)",
            ((now - timedelta(minutes=minutes_ago)).replace(microsecond=0), "i-old/1", hits),
        )
    earlier = 7
    with ExitStack() as stack:
        bases = {name: stack.enter_context(gunicorn(app_db, f"i-{name}")) for name in ("a", "b")}
        visits: list[Visit] = []
        for i in range(40):
            name = "ab"[i % 2] if i < 20 else "aab"[i % 3]
            started = time.monotonic()
            count = shown(requests.get(bases[name] + "/", timeout=10))
            visits.append(Visit(name, started, time.monotonic(), count))
            time.sleep(0.15 * (i % 5))  # some visits far enough apart, some not
        time.sleep(STALENESS_S + 0.2)
        quiet = {name: shown(requests.get(base + "/", timeout=10)) for name, base in bases.items()}

    for n, visit in enumerate(visits, start=1):
        before = visits[:n]
        own = sum(v.server == visit.server for v in before)
        settled = sum(
            v.server != visit.server and v.finished < visit.started - STALENESS_S for v in before
        )
        assert earlier + own + settled <= visit.count <= earlier + n, (n, visit)
    total = earlier + len(visits)
    assert quiet == {"a": total + 1, "b": total + 2}
    assert query(app_db, "SELECT COUNT(*) FROM hits") == [(len(visits) + 2,)]


def test_concurrent_visits_are_all_written_and_counted(app_db: str) -> None:
    """20 clients at once on two gunicorn workers (hits share transactions): every visit
    answered, every hit a row, and the count exact once quiet."""
    answers: list[int] = []
    lock = threading.Lock()

    def client(base: str) -> None:
        with requests.Session() as session:
            codes = [session.get(base + "/", timeout=30).status_code for _ in range(15)]
        with lock:
            answers.extend(codes)

    with gunicorn(app_db, "i-busy", workers=2) as base:
        clients = [threading.Thread(target=client, args=(base,)) for _ in range(20)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join()
        time.sleep(STALENESS_S + 0.2)
        final = [shown(requests.get(base + "/", timeout=10)) for _ in range(2)]
    assert answers == [200] * 300
    assert query(app_db, "SELECT COUNT(*) FROM hits") == [(302,)]
    assert final == [301, 302]
