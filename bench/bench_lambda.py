"""Lambda invocation in the local cloud: a cold start against a warm execution environment.

One function like the lab's (imports boto3, calls CloudFormation through the local cloud), in
one local cloud: ``COLD`` invocations that each need a new environment (the configuration changes
before each, so AWS and the local cloud start a new one: a fresh Python, boto3 imported, handler
imported -- what every invocation cost before warm environments), then ``WARM`` invocations of
one warm environment. Latency is the client's (median); CPU is this process plus its children,
per invocation (environments are ended before reading it, so their CPU is counted).

``python -m bench lambda``; ``python -m bench.bench_lambda`` prints the JSON lines.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from typing import Any

from bench.cpu_share import cpu_seconds
from bench.result import BenchResult

COLD = 8
WARM = 40
REGION = "us-east-2"
CODE = """
import boto3

cloudformation = boto3.client("cloudformation")


def handler(event, context):
    return {"stacks": len(cloudformation.describe_stacks()["Stacks"])}
"""


def _invoke(lam: Any, name: str) -> float:
    start = time.perf_counter()
    resp = lam.invoke(FunctionName=name, Payload=b"{}")
    elapsed = time.perf_counter() - start
    if "FunctionError" in resp:
        raise RuntimeError(f"invocation failed: {resp['Payload'].read()!r}")
    return elapsed


def _measure(cloud: Any, lam: Any, name: str, count: int, cold: bool) -> tuple[float, float]:
    """(median latency, cpu-s per invocation)."""
    from reslab.localcloud.lambda_exec import pool

    latencies: list[float] = []
    cpu = cpu_seconds()
    for i in range(count):
        if cold:  # a new configuration: AWS starts a new execution environment
            lam.update_function_configuration(
                FunctionName=name, Environment={"Variables": {"ROUND": str(i)}}
            )
        latencies.append(_invoke(lam, name))
    pool().reset()  # end the environments: their CPU is then counted as children's
    return statistics.median(latencies), (cpu_seconds() - cpu) / count


def run() -> list[BenchResult]:
    from reslab.localcloud import LocalCloud
    from reslab.localcloud.testing import lambda_role, zip_files

    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with LocalCloud() as cloud:
        lam = cloud.client("lambda", REGION)
        name = "bench-lambda"
        lam.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=lambda_role(cloud),
            Handler="app.handler",
            Code={"ZipFile": zip_files({"app.py": CODE})},
            Timeout=30,
        )
        _invoke(lam, name)  # the zip extracted, the server's own caches warm
        cold_latency, cold_cpu = _measure(cloud, lam, name, COLD, cold=True)
        _invoke(lam, name)  # the environment the warm calls reuse
        warm_latency, warm_cpu = _measure(cloud, lam, name, WARM, cold=False)
    return [
        BenchResult("lambda_invoke_warm", warm_latency, "s", "lambda_invoke_cold", cold_latency),
        BenchResult(
            "lambda_invoke_warm_cpu", warm_cpu, "cpu-s", "lambda_invoke_cold_cpu", cold_cpu
        ),
    ]


if __name__ == "__main__":
    for result in run():
        print(json.dumps(result.to_json()))
