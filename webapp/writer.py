"""Group commit: the hits of concurrent requests written in one INSERT.

A request thread queues its hit; if no thread is writing, it becomes the *leader* and
writes everything queued (up to ``MAX_BATCH`` rows per INSERT, ``webapp.writes``) in its
own thread; otherwise it waits. When the leader is done it wakes the threads whose hits
it wrote and hands the lead to the first hit queued meanwhile, whose thread then writes
everything queued by then. So one commit (one disk flush) is shared by every request that
arrived while the previous one ran, and the cost per hit falls under load, while a lone
request writes its own single-row INSERT at once, with no thread hand-off. A request
still gets its answer only once its hit is committed, or the database error that
prevented it.

A row the database refuses (``DbErrors.row``: a NUL byte for PostgreSQL, a value too long
for its column...) must not sink the others: the batch is split in halves until the bad row
is alone, the good rows are written, and the bad one is stored sanitised
(``Hit.sanitised``) or, if even that is refused, dropped. Both are counted (``bad_rows``) and
logged. Any other error is the whole batch's: every waiting request gets it.

The leader also refreshes the recent-hit count (``webapp.recent``) when it is stale, before
answering; a small thread publishes the counts of a process that has gone idle.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from webapp.db import Engine
from webapp.hit import Hit, utcnow
from webapp.pool import Pool
from webapp.recent import IDLE_CHECK_S, RecentCount
from webapp.writes import per_second, publish_counts, recent_total, unwritten, write_hits

LOG = logging.getLogger("webapp")
MAX_BATCH = 500
Outcome = Literal["written", "sanitised", "dropped"]


@dataclass(eq=False)
class Job:
    """One hit waiting for its commit; or, with ``hit`` None, a wish for a fresh count."""

    hit: Hit | None
    wake: threading.Event = field(default_factory=threading.Event)
    done: bool = False
    lead: bool = False
    outcome: Outcome | None = None
    error: BaseException | None = None

    def finish(self) -> None:
        if not self.done:
            self.done = True
            self.wake.set()

    def result(self) -> Outcome | None:
        if self.error is not None:
            raise self.error
        return self.outcome


@dataclass
class BadRows:
    sanitised: int = 0
    dropped: int = 0


class HitWriter:
    def __init__(self, pool: Pool, engine: Engine, instance_id: str) -> None:
        self.pool = pool
        self.engine = engine
        self.instance_id = instance_id
        self.errors = pool.errors
        self.recent = RecentCount()
        self.bad_rows = BadRows()
        self._jobs: list[Job] = []
        self._lock = threading.Lock()
        self._leading = False
        self._publisher: threading.Thread | None = None
        self._publisher_pid = 0
        self._closed = threading.Event()

    # ---- request side ------------------------------------------------------------------
    def write(self, hit: Hit) -> Outcome | None:
        """Write the hit (returns once it is committed); raises the database error that
        stopped it."""
        job = Job(hit)
        self.run([job])
        return job.result()

    def run(self, jobs: list[Job]) -> None:
        """Queue the jobs; return once each is done (by this thread or another)."""
        with self._lock:
            self._jobs.extend(jobs)
            lead = not self._leading
            self._leading = True
        if lead:
            self._lead()
        for job in jobs:
            while not job.done:
                job.wake.wait()
                if job.lead:  # handed the lead: write what is queued, this job among it
                    job.lead = False
                    job.wake.clear()
                    self._lead()

    def recent_count(self) -> int | None:
        """Hits of the last five minutes; reads the database first when the count is stale
        (no page view refreshed it in the last second)."""
        if self.recent.stale():
            self.run([Job(None)])
        return self.recent.value(utcnow())

    def close(self) -> None:
        """Publish the counts of the hits written since the last refresh; stop the thread."""
        if self.recent.unpublished():
            self.run([Job(None)])
        self._closed.set()

    def _publish_when_idle(self) -> None:
        """The thread that refreshes (so publishes) the counts of a process without pages."""
        if self._publisher is not None and self._publisher_pid == os.getpid():
            return
        self._publisher_pid = os.getpid()
        self._publisher = threading.Thread(
            target=self._idle_loop, name="webapp-counts", daemon=True
        )
        self._publisher.start()

    def _idle_loop(self) -> None:
        while not self._closed.wait(IDLE_CHECK_S):
            if self.recent.due():
                self.run([Job(None)])

    # ---- the leader ----------------------------------------------------------------------
    def _lead(self) -> None:
        with self._lock:
            taken, self._jobs = self._jobs, []
        try:
            self._serve(taken)
        except BaseException as exc:  # never leave a request waiting forever
            LOG.exception("the hit writer failed")
            for job in taken:
                if not job.done:
                    job.error = exc
        finally:
            for job in taken:
                job.finish()
            with self._lock:
                if self._jobs:
                    successor = self._jobs[0]
                    successor.lead = True
                    successor.wake.set()
                else:
                    self._leading = False

    def _serve(self, taken: list[Job]) -> None:
        writes = [j for j in taken if j.hit is not None]
        for start in range(0, len(writes), MAX_BATCH):
            batch = writes[start : start + MAX_BATCH]
            # A stale count is read again before the pages that show it are answered: no
            # page shows a total read more than MAX_AGE_S before its own hit was written.
            if self._write(batch) and self.recent.stale():
                self._refresh()
            for job in batch:
                job.finish()
        if len(writes) < len(taken):  # someone asked for a fresh count
            self._refresh()

    def _write(self, jobs: list[Job]) -> bool:
        """Write the jobs' hits; False when the database could not take them."""
        hits = [j.hit for j in jobs if j.hit is not None]
        attempts = 0

        def work(conn: Any) -> dict[str, Outcome]:
            nonlocal attempts
            attempts += 1
            # A retry follows a lost connection: the first try may have committed.
            todo = hits if attempts == 1 else unwritten(conn, hits)
            outcomes: dict[str, Outcome] = {h.hit_id: "written" for h in hits}
            self._isolating(conn, todo, outcomes)
            return outcomes

        try:
            outcomes = self.pool.run(work)
        except BaseException as exc:  # every waiting request gets it (the app decides)
            self.recent.forget()
            for job in jobs:
                job.error = exc
            return False
        self.recent.add(per_second([h for h in hits if outcomes[h.hit_id] != "dropped"]))
        self._publish_when_idle()
        for job in jobs:
            job.outcome = outcomes[job.hit.hit_id]  # type: ignore[union-attr]
        return True

    def _isolating(self, conn: Any, hits: list[Hit], outcomes: dict[str, Outcome]) -> None:
        if not hits:
            return
        try:
            write_hits(conn, self.engine, hits)
        except self.errors.row as exc:
            if len(hits) == 1:
                outcomes[hits[0].hit_id] = self._store_bad(conn, hits[0], exc)
                return
            middle = len(hits) // 2
            self._isolating(conn, hits[:middle], outcomes)
            self._isolating(conn, hits[middle:], outcomes)

    def _store_bad(self, conn: Any, hit: Hit, exc: BaseException) -> Outcome:
        clean = hit.sanitised()
        if clean != hit:
            try:
                write_hits(conn, self.engine, [clean])
            except self.errors.row as again:
                exc = again
            else:
                self.bad_rows.sanitised += 1
                LOG.warning(
                    "hit %s stored sanitised: the database refused it (%s: %s)",
                    hit.hit_id,
                    type(exc).__name__,
                    exc,
                )
                return "sanitised"
        self.bad_rows.dropped += 1
        LOG.warning(
            "hit %s dropped: the database refuses it even sanitised (%s: %s)",
            hit.hit_id,
            type(exc).__name__,
            exc,
        )
        return "dropped"

    def _refresh(self) -> None:
        """Publish this process's counts, then read the total back."""
        writer_id = f"{self.instance_id}/{os.getpid()}"[:100]
        pending = self.recent.unpublished()
        published: Counter[datetime] = Counter()
        total = None
        try:
            if pending:
                self.pool.run(lambda conn: publish_counts(conn, self.engine, writer_id, pending))
                published = pending
            total = self.pool.run(lambda conn: recent_total(conn, utcnow()))
        except self.errors.any as exc:
            LOG.warning("could not refresh the recent hit count: %s", exc)
        self.recent.refreshed(total, published)
