"""Fleet benchmark: ``fleet deploy`` of 20 labs at once vs one lab, same local cloud, same run.

Real templates (5 stacks per lab, RDS backed by embedded PostgreSQL, one web app per lab), the
real machinery per target (IAM roles, 4 Lambdas run in child processes, 2 state machines),
each target through its own assumed role. First one target alone, then 20 others (distinct
workshop / stack prefix, regions alternating) with concurrency 20 (``RESLAB_BENCH_FLEET_
CONCURRENCY``). Also CPU seconds (this process + children) of the 20 vs 20 x the single one:
the local cloud runs on the machine's cores, so a flat wall time needs idle cores.

``python -m bench bench_fleet``; ``python -m bench.bench_fleet`` prints the JSON lines.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import time
from typing import Any

from bench.result import BenchResult

TARGETS = 20
ROLE = "arn:aws:iam::123456789012:role/ReslabBenchTrainer"
REGIONS = (("us-east-2", "us-west-2"), ("us-west-2", "us-east-2"))


def _cpu() -> float:
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _csv(tag: str, start: int, count: int) -> str:
    rows = ["role_arn,region,secondary_region,workshop,stack_prefix"]
    for i in range(start, start + count):
        primary, secondary = REGIONS[i % len(REGIONS)]
        rows.append(f"{ROLE},{primary},{secondary},bench {tag} {i},B{tag}n{i}")
    return "\n".join(rows) + "\n"


def _deploy(cloud: Any, text: str, concurrency: int) -> tuple[float, float]:
    from reslab.fleet.lab import Settings
    from reslab.fleet.runner import FleetRun, run_fleet
    from reslab.fleet.targets import parse_targets

    targets = parse_targets(text)
    fleet = FleetRun(
        "deploy", Settings(base_name="bench", local=True), concurrency, cloud.endpoint_url
    )
    wall, cpu = time.perf_counter(), _cpu()
    runs = run_fleet(fleet, targets)
    wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    failed = [f"{r.target.label}: {r.error}: {r.message}" for r in runs if r.status != "succeeded"]
    if failed:
        raise RuntimeError("; ".join(failed))
    return wall, cpu


def run() -> list[BenchResult]:
    from reslab.localcloud import LocalCloud

    logging.getLogger("moto").setLevel(logging.CRITICAL)
    concurrency = int(os.environ.get("RESLAB_BENCH_FLEET_CONCURRENCY", TARGETS))
    tag = f"{os.getpid() % 100000}"
    with LocalCloud() as cloud:
        single_wall, single_cpu = _deploy(cloud, _csv(tag, 0, 1), 1)
        fleet_wall, fleet_cpu = _deploy(cloud, _csv(tag, 1, TARGETS), concurrency)
    return [
        BenchResult(
            "fleet_deploy_20_targets", fleet_wall, "s", "single_target_deploy", single_wall
        ),
        BenchResult(
            "fleet_deploy_20_targets_cpu",
            fleet_cpu,
            "cpu-s",
            "20 x single_target_deploy cpu",
            TARGETS * single_cpu,
        ),
    ]


if __name__ == "__main__":
    for result in run():
        print(json.dumps(result.to_json()))
