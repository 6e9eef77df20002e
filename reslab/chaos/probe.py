"""The steady-state probe (``--probe``): poll the website at a fixed rate in a background thread.

Each sample records when the request started, whether it succeeded (HTTP 2xx/3xx), the status,
the latency and which instance / AZ answered. The page itself is probed (that is what a visitor
sees: the fragile app's page fails when its database does, while ``/api/status`` keeps answering).
Instance and AZ come from the JSON body when the URL answers JSON (e.g.
``--probe-url .../api/status``), else from the HTML (``id="instance-id"`` / ``id="az"``, or
anything shaped like an instance id / AZ).
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

HTML_FIELDS = {
    "instance": (
        re.compile(r'id="instance-id"[^>]*>\s*([^<\s]+)'),
        re.compile(r"\b(i-[0-9a-f]{8,17})\b"),
    ),
    "az": (
        re.compile(r'id="az"[^>]*>\s*([^<\s]+)'),
        re.compile(r"\b([a-z]{2}(?:-gov)?-[a-z]+-\d[a-z])\b"),
    ),
}
JSON_FIELDS = {"instance": ("instance_id", "instance"), "az": ("availability_zone", "az")}
MAX_BODY = 256 * 1024


@dataclass(frozen=True)
class Sample:
    t: float  # seconds since the probe started (request start)
    ok: bool
    status: int | None
    latency_ms: float
    instance: str | None = None
    az: str | None = None
    error: str | None = None


def identify(body: bytes, content_type: str) -> tuple[str | None, str | None]:
    """(instance, az) from a JSON or HTML body; None where not found."""
    text = body.decode("utf-8", "replace")
    if "json" in content_type:
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            found = {
                name: next((str(data[k]) for k in keys if data.get(k)), None)
                for name, keys in JSON_FIELDS.items()
            }
            return found["instance"], found["az"]
    found_html: dict[str, str | None] = {}
    for name, patterns in HTML_FIELDS.items():
        found_html[name] = next(
            (m.group(1) for p in patterns if (m := p.search(text)) is not None), None
        )
    return found_html["instance"], found_html["az"]


def fetch(url: str, timeout: float) -> tuple[bool, int | None, bytes, str, str | None]:
    """One GET on a fresh connection: (ok, status, body, content type, error)."""
    request = urllib.request.Request(  # noqa: S310 - http(s) URL of the lab
        url, headers={"User-Agent": "reslab-steady-state-probe", "Connection": "close"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return (
                True,
                response.status,
                response.read(MAX_BODY),
                response.headers.get("Content-Type", ""),
                None,
            )
    except urllib.error.HTTPError as exc:
        body = exc.read(MAX_BODY) if exc.fp else b""
        return False, exc.code, body, exc.headers.get("Content-Type", ""), f"HTTP {exc.code}"
    except (OSError, http.client.HTTPException, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        return False, None, b"", "", f"{type(exc).__name__}: {reason}"


@dataclass
class SteadyStateProbe:
    url: str
    interval: float = 0.5
    timeout: float = 2.0
    clock: Callable[[], float] = time.monotonic
    samples: list[Sample] = field(default_factory=list)
    marks: list[tuple[str, float]] = field(default_factory=list)
    started_at: float = 0.0
    started_wall: float = 0.0

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def now(self) -> float:
        """Seconds since the probe started, on the samples' clock."""
        return self.clock() - self.started_at

    def start(self) -> SteadyStateProbe:
        self.started_at = self.clock()
        self.started_wall = time.time()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="steady-state-probe", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def mark(self, name: str) -> float:
        at = self.now()
        with self._lock:
            self.marks.append((name, at))
        return at

    def __enter__(self) -> SteadyStateProbe:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def sample_once(self) -> Sample:
        start = self.clock()
        ok, status, body, content_type, error = fetch(self.url, self.timeout)
        latency_ms = (self.clock() - start) * 1000.0
        instance, az = identify(body, content_type) if body else (None, None)
        sample = Sample(start - self.started_at, ok, status, latency_ms, instance, az, error)
        with self._lock:
            self.samples.append(sample)
        return sample

    def _run(self) -> None:
        """Fixed-rate schedule: slot k starts at k * interval; slots missed by a slow request
        are skipped, not bunched up."""
        next_at = self.clock()
        while not self._stop.is_set():
            self.sample_once()
            next_at += self.interval
            now = self.clock()
            if next_at < now:
                next_at += ((now - next_at) // self.interval + 1) * self.interval
            self._stop.wait(next_at - now)

    def snapshot(self) -> tuple[list[Sample], list[tuple[str, float]]]:
        with self._lock:
            return list(self.samples), list(self.marks)

    def to_dict(self) -> dict[str, Any]:
        samples, marks = self.snapshot()
        return {
            "url": self.url,
            "interval_s": self.interval,
            "started_epoch": self.started_wall,
            "marks": [{"name": n, "t": t} for n, t in marks],
            "samples": [asdict(s) for s in samples],
        }
