"""Fleet benchmark: ``fleet deploy`` of 20 labs at once vs one lab, same local cloud, same run.

Real templates (5 stacks per lab, RDS backed by embedded PostgreSQL, one web app per lab), the
real machinery per target (IAM roles, the Lambdas run in warm execution environments, 2 state
machines), each target through its own assumed role. First one target alone, then 20 others
(distinct workshop / stack prefix, regions alternating) with concurrency 20 (``RESLAB_BENCH_
FLEET_CONCURRENCY``; ``RESLAB_BENCH_FLEET_TARGETS`` for another count). Also CPU seconds
(this process + reaped children: the warm Lambda environments are ended first, so they count,
as the process per invocation did before; live databases and web apps do not) of the 20 vs 20 x
the single one: the local cloud runs on the machine's cores, so a flat wall time needs idle
cores. Where it goes (``cpu_share``: this process, Lambda environments, PostgreSQL, web apps,
other children) and how many Lambda invocations were cold starts.

Then the same again in a new local cloud with ``RESLAB_BENCH_FLEET_BUSY`` (default 2; 0 skips
it) CPU-bound processes running beside it, as on a laptop doing other work.

The local cloud serves one request at a time (``reslab.localcloud.serialise``): its lock is
instrumented to report how long it was held (the server's serial work) and how long requests
waited for it (mean, 99th percentile, longest), against the fleet's wall time. Lock held wall
well above lock held CPU means the holder was off the CPU (the GIL, other processes) while every
other request waited.

``python -m bench fleet``; ``python -m bench.bench_fleet`` prints the JSON lines.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bench.cpu_share import KINDS, CpuShare, cpu_seconds
from bench.result import BenchResult
from reslab.localcloud.testing import TRAINER_ROLE

TARGETS = int(os.environ.get("RESLAB_BENCH_FLEET_TARGETS", "20"))
#: Every row's role: the trainer's, with the grants docs/trainer-guide.md lists (made in
#: each round's cloud by ``reslab.localcloud.testing.trainer_role``): the local cloud enforces
#: IAM, a role that does not exist could not even be assumed.
ROLE = f"arn:aws:iam::123456789012:role/{TRAINER_ROLE}"
#: Installs are named ``bench-b<tag>n<i>``, lab stacks ``B<tag>n<i>``.
BASE_NAME = "bench"
REGIONS = (("us-east-2", "us-west-2"), ("us-west-2", "us-east-2"))
#: The CPU-bound processes run beside the second round (not counted as the fleet's CPU).
HOG, BUSY = "while True: pass", "busy processes"


class TimedLock:
    """The local cloud's request lock, counting time held (wall and the holder's CPU) and
    time waited for it. Held wall much above held CPU: the holder was off the CPU (the GIL,
    other processes) while every other request waited."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._acquired_at = (0.0, 0.0)
        self.held = 0.0
        self.held_cpu = 0.0
        self.waited = 0.0
        self.requests = 0
        self.waits: list[float] = []

    def acquire(self) -> bool:
        start = time.perf_counter()
        self._lock.acquire()
        self._acquired_at = (time.perf_counter(), time.thread_time())
        self.waits.append(self._acquired_at[0] - start)
        self.waited += self.waits[-1]
        self.requests += 1
        return True

    def release(self) -> None:
        wall, cpu = self._acquired_at
        self.held += time.perf_counter() - wall
        self.held_cpu += time.thread_time() - cpu  # released by the thread that acquired it
        self._lock.release()

    def snapshot(self) -> tuple[float, float, float, int]:
        return self.held, self.held_cpu, self.waited, self.requests

    def longest_waits(self, since: int) -> tuple[float, float]:
        """(99th percentile, longest) wait of the requests after the first ``since``."""
        waits = sorted(self.waits[since:]) or [0.0]
        return waits[int(0.99 * (len(waits) - 1))], waits[-1]


@dataclass(frozen=True)
class Deployed:
    wall: float
    cpu: float
    lock_held: float
    lock_held_cpu: float
    lock_waited: float
    requests: int
    lambda_cold: int
    lambda_invocations: int
    wait_p99: float
    wait_max: float
    failures: tuple[str, ...]
    cpu_by_kind: Mapping[str, float]


def _csv(tag: str, start: int, count: int) -> str:
    rows = ["role_arn,region,secondary_region,workshop,stack_prefix"]
    for i in range(start, start + count):
        primary, secondary = REGIONS[i % len(REGIONS)]
        rows.append(f"{ROLE},{primary},{secondary},bench {tag} {i},B{tag}n{i}")
    return "\n".join(rows) + "\n"


def _deploy(cloud: Any, lock: TimedLock, text: str, concurrency: int) -> Deployed:
    from reslab.fleet.lab import Settings
    from reslab.fleet.runner import FleetRun, run_fleet
    from reslab.fleet.targets import parse_targets

    targets = parse_targets(text)
    fleet = FleetRun(
        "deploy", Settings(base_name=BASE_NAME, local=True), concurrency, cloud.endpoint_url
    )
    lock_before, lambdas_before = lock.snapshot(), _lambda_starts()
    wall, cpu = time.perf_counter(), cpu_seconds()
    with CpuShare(kinds={BUSY: lambda cmd: HOG in cmd, **KINDS}) as share:
        runs = run_fleet(fleet, targets)
    wall = time.perf_counter() - wall
    _end_lambda_environments()  # their CPU is counted once they are reaped (as before: a
    cpu = cpu_seconds() - cpu  # process per invocation); live databases and web apps are not
    failed = [f"{r.target.label}: {r.error}: {r.message}" for r in runs if r.status != "succeeded"]
    held, held_cpu, waited, requests = (
        a - b for a, b in zip(lock.snapshot(), lock_before, strict=True)
    )
    cold, invocations = (a - b for a, b in zip(_lambda_starts(), lambdas_before, strict=True))
    p99, longest = lock.longest_waits(int(lock_before[3]))
    return Deployed(
        wall,
        cpu,
        held,
        held_cpu,
        waited,
        int(requests),
        cold,
        invocations,
        p99,
        longest,
        tuple(failed),
        {kind: used for kind, used in share.by_kind().items() if kind != BUSY},
    )


def _end_lambda_environments() -> None:
    from reslab.localcloud.lambda_exec import pool

    pool().reset()


def _lambda_starts() -> tuple[int, int]:
    """(cold starts, invocations) of the local cloud's Lambda environments so far."""
    from reslab.localcloud.lambda_exec import pool

    stats = pool().stats
    return stats.cold_starts, stats.cold_starts + stats.warm_starts


@contextmanager
def _busy(processes: int) -> Iterator[None]:
    """``processes`` CPU-bound processes running beside the block."""
    hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(processes)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def _round(tag: str, concurrency: int, busy: int) -> tuple[Deployed, Deployed]:
    """One lab, then TARGETS labs, in a new local cloud (``busy`` CPU hogs beside it)."""
    from reslab.localcloud import LocalCloud, serialise
    from reslab.localcloud.testing import trainer_role

    lock = TimedLock()
    original, serialise._lock = serialise._lock, lock  # type: ignore[assignment]
    try:
        with _busy(busy), LocalCloud() as cloud:
            if trainer_role(cloud, f"{BASE_NAME}-b{tag}", f"B{tag}") != ROLE:
                raise RuntimeError(f"the trainer's role is not {ROLE}")
            single = _deploy(cloud, lock, _csv(tag, 0, 1), 1)
            fleet = _deploy(cloud, lock, _csv(tag, 1, TARGETS), concurrency)
    finally:
        serialise._lock = original
    return single, fleet


def _results(suffix: str, single: Deployed, fleet: Deployed) -> list[BenchResult]:
    name = f"fleet_deploy_{TARGETS}_targets{suffix}"
    return [
        BenchResult(name, fleet.wall, "s", f"single_target_deploy{suffix}", single.wall),
        BenchResult(
            f"{name}_cpu",
            fleet.cpu,
            "cpu-s",
            f"{TARGETS} x single_target_deploy{suffix} cpu",
            TARGETS * single.cpu,
        ),
        BenchResult(f"{name}_lock_held", fleet.lock_held, "s", f"{name} wall", fleet.wall),
        BenchResult(
            f"{name}_lock_held_cpu", fleet.lock_held_cpu, "cpu-s", "lock held", fleet.lock_held
        ),
        BenchResult(
            f"{name}_lock_wait_per_request",
            fleet.lock_waited / max(fleet.requests, 1),
            "s",
            "lock held per request",
            fleet.lock_held / max(fleet.requests, 1),
        ),
        BenchResult(f"{name}_lock_wait_p99", fleet.wait_p99, "s", "longest wait", fleet.wait_max),
        BenchResult(f"{name}_failures", len(fleet.failures), "labs", "labs", TARGETS),
        *(
            BenchResult(
                f"{name}_cpu_{kind.replace(' ', '_')}", used, "cpu-s", f"{name}_cpu", fleet.cpu
            )
            for kind, used in sorted(fleet.cpu_by_kind.items())
        ),
        BenchResult(
            f"{name}_lambda_cold_starts",
            fleet.lambda_cold,
            "starts",
            "lambda invocations",
            fleet.lambda_invocations,
        ),
    ]


def run() -> list[BenchResult]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    concurrency = int(os.environ.get("RESLAB_BENCH_FLEET_CONCURRENCY", TARGETS))
    busy = int(os.environ.get("RESLAB_BENCH_FLEET_BUSY", "2"))
    tag = f"{os.getpid() % 100000}"
    rounds = [("", 0)] + ([(f"_beside_{busy}_busy", busy)] if busy else [])
    results: list[BenchResult] = []
    failures: list[str] = []
    for suffix, processes in rounds:
        single, fleet = _round(f"{tag}{processes}", concurrency, processes)
        for result in _results(suffix, single, fleet):  # shown now: a failure must not lose them
            print(json.dumps(result.to_json()), file=sys.stderr)
            results.append(result)
        failures += [f"{suffix or 'quiet'}: {f}" for f in (*single.failures, *fleet.failures)]
    if failures:
        raise RuntimeError(f"{len(failures)} labs failed: " + "; ".join(failures))
    return results


if __name__ == "__main__":
    for result in run():
        print(json.dumps(result.to_json()))
