"""A hit's id, its header text and its sanitised form (pure functions: no database)."""

from __future__ import annotations

import time

from webapp.hit import MAX_ID, MAX_USER_AGENT, Hit, header_text, new_hit_id


def test_hit_ids_are_unique_hex_in_time_order() -> None:
    ids = []
    for _ in range(5):
        ids.append(new_hit_id())
        time.sleep(0.002)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    burst = {new_hit_id() for _ in range(10_000)}
    assert len(burst) == 10_000


def test_header_text_reads_the_bytes_as_utf8() -> None:
    # A WSGI server hands header bytes over decoded as latin-1.
    assert header_text("caf\u00c3\u00a9") == "caf\u00e9"
    assert header_text("bad \u00ff\u00fe") == "bad \ufffd\ufffd"
    assert header_text("plain/1.0") == "plain/1.0"
    assert header_text("already \u20ac text") == "already \u20ac text"


def test_sanitised_keeps_printable_ascii_cut_to_the_columns() -> None:
    hit = Hit.now("1.2.3.4\x00", "a\x00b\udc80\u00e9\U0001f600" + "z" * 2000, "i-\x07" * 40, "az")
    assert len(hit.instance_id) == MAX_ID
    clean = hit.sanitised()
    assert clean.client_ip == "1.2.3.4?"
    assert clean.user_agent.startswith("a?b???zzz") and len(clean.user_agent) == MAX_USER_AGENT
    assert set(clean.instance_id) <= set("i-?")
    assert (clean.hit_id, clean.hit_time) == (hit.hit_id, hit.hit_time)
