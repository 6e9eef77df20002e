"""The database goes away for real (a TCP forwarder in front of it is stopped) and comes back."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

import requests

from tests.webapp.support import TcpProxy, query, serve, settings_for

WAIT_S = 20.0  # a generous bound for polling, not a timing assertion


def count(url: str) -> int:
    return int(query(url, "SELECT COUNT(*) FROM hits")[0][0])  # type: ignore[arg-type]


def eventually(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.05)


def recovered(base: str) -> bool:
    status = requests.get(base + "/api/status", timeout=10).json()
    return not status["degraded"] and status["buffered"] == 0


def test_fragile_errors_while_database_away(app_db: str, proxy: TcpProxy) -> None:
    with serve(settings_for(app_db, port=proxy.port)) as base:
        assert requests.get(base + "/", timeout=10).status_code == 200
        proxy.stop()
        away = [requests.get(base + "/", timeout=10) for _ in range(3)]
        health = requests.get(base + "/healthcheck", timeout=10)
        status = requests.get(base + "/api/status", timeout=10).json()
        proxy.start()
        back = requests.get(base + "/", timeout=10)
        health_back = requests.get(base + "/healthcheck", timeout=10)
    assert [r.status_code for r in away] == [500, 500, 500]
    assert "database did not answer" in away[0].text
    assert health.status_code == 503
    assert status["degraded"] is True and status["recent_hits"] is None
    assert back.status_code == 200 and health_back.status_code == 200
    assert count(app_db) == 2  # the three hits taken while away are lost


def test_short_outage_between_hits_costs_no_error(app_db: str, proxy: TcpProxy) -> None:
    """Idle pooled connections cut by a restart are replaced, not reported as errors."""
    with serve(settings_for(app_db, port=proxy.port)) as base:
        assert requests.get(base + "/", timeout=10).status_code == 200
        proxy.stop()
        proxy.start()
        after = requests.get(base + "/", timeout=10)
    assert after.status_code == 200
    assert count(app_db) == 2


def test_resilient_loses_no_hit_under_concurrent_load(app_db: str, proxy: TcpProxy) -> None:
    """Four clients keep hitting while the database goes away and comes back: every request
    is answered 200 and every hit ends up in the table."""
    sent: list[int] = []
    stop = threading.Event()

    def client(base: str) -> None:
        with requests.Session() as session:
            while not stop.is_set():
                try:
                    sent.append(session.get(base + "/", timeout=10).status_code)
                except requests.RequestException:
                    sent.append(-1)
                time.sleep(0.005)  # keep the machine usable for others

    with serve(settings_for(app_db, resilient=True, port=proxy.port)) as base:
        threads = [threading.Thread(target=client, args=(base,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        eventually(lambda: len(sent) >= 20)
        proxy.stop()
        eventually(lambda: requests.get(base + "/api/status", timeout=10).json()["buffered"] >= 20)
        proxy.start()
        eventually(lambda: recovered(base))
        mark = len(sent)
        eventually(lambda: len(sent) >= mark + 20)
        stop.set()
        for thread in threads:
            thread.join()
        status = requests.get(base + "/api/status", timeout=10).json()
    assert set(sent) == {200}
    assert (status["buffered"], status["dropped"]) == (0, 0)
    assert count(app_db) == len(sent)


def test_resilient_serves_degraded_then_flushes(app_db: str, proxy: TcpProxy) -> None:
    with serve(settings_for(app_db, resilient=True, port=proxy.port)) as base:
        assert requests.get(base + "/", timeout=10).status_code == 200
        proxy.stop()
        away = [
            requests.get(base + "/", headers={"User-Agent": f"ua-{i}"}, timeout=10)
            for i in range(5)
        ]
        health = requests.get(base + "/healthcheck", timeout=10)
        status = requests.get(base + "/api/status", timeout=10).json()
        assert count(app_db) == 1
        proxy.start()
        eventually(lambda: recovered(base))
        after = requests.get(base + "/", timeout=10)
    assert [r.status_code for r in away] == [200] * 5
    assert all('id="degraded"' in r.text for r in away)
    assert '<dd id="recent-hits">unavailable</dd>' in away[-1].text
    assert health.status_code == 503  # the health check still tells the truth
    assert status["degraded"] is True and status["buffered"] == 5 and status["resilient"]
    assert after.status_code == 200 and 'id="degraded"' not in after.text
    assert re.search('<dd id="recent-hits">(.*?)</dd>', after.text).group(1) == "7"
    agents = [r[0] for r in query(app_db, "SELECT user_agent FROM hits ORDER BY id")]
    assert agents[1:6] == [f"ua-{i}" for i in range(5)]  # buffered hits, in order


def test_resilient_buffer_is_bounded(app_db: str, proxy: TcpProxy) -> None:
    from dataclasses import replace

    settings = replace(settings_for(app_db, resilient=True, port=proxy.port), buffer_max=3)
    with serve(settings) as base:
        proxy.stop()
        for i in range(5):
            requests.get(base + "/", headers={"User-Agent": f"ua-{i}"}, timeout=10)
        status = requests.get(base + "/api/status", timeout=10).json()
        proxy.start()
        eventually(lambda: recovered(base))
    assert (status["buffered"], status["dropped"]) == (3, 2)
    agents = [r[0] for r in query(app_db, "SELECT user_agent FROM hits ORDER BY id")]
    assert agents == ["ua-2", "ua-3", "ua-4"]  # the oldest were dropped
