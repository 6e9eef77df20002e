"""Deploy benchmarks.

1. Wall time of ``reslab deploy --local`` end to end (a fresh process: start the local cloud,
   install, run the state machine, print the summary, stop). Baseline, measured in the same run:
   a fresh process that starts the local cloud, uploads the templates and creates the five stacks
   one after the other by calling the deploy Lambda's own code directly (no state machine, no
   Lambda processes), polling every 0.2 s: the cost of the orchestration itself.
The state transitions of a full deploy at typical AWS stack times, and the delay from a stack's
completion to the next stage, are ``bench.bench_handoff`` (stack events against a fixed poll).

``python -m bench.bench_deploy direct`` is the baseline process of (1).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

from bench.result import BenchResult
from reslab import REPO_ROOT

REPEAT = 3


def _env(iam: bool | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    if iam is not None:  # bench_iam: the local cloud's IAM enforcement on or off
        env["RESLAB_LOCAL_IAM"] = "1" if iam else "0"
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull  # no credentials: the local cloud
    env["AWS_CONFIG_FILE"] = os.devnull
    env["PYTHONPATH"] = str(REPO_ROOT)  # the baseline process imports bench.bench_deploy
    return env


def _timed(args: list[str], iam: bool | None = None) -> float:
    with tempfile.TemporaryDirectory() as cwd:
        start = time.perf_counter()
        subprocess.run(args, cwd=cwd, env=_env(iam), check=True, capture_output=True, timeout=600)
        return time.perf_counter() - start


def direct_deploy() -> None:
    """Baseline process: the five stacks created in order by the Lambda code, no state machine."""
    from reslab.event import local_event, validate_event
    from reslab.installer.install import ensure_bucket, upload_boot, upload_templates
    from reslab.localcloud import LocalCloud
    from reslab_lambda import cfn
    from reslab_lambda.stacks import stack_table

    with LocalCloud() as cloud:
        os.environ.update(
            AWS_ENDPOINT_URL=cloud.endpoint_url,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",  # noqa: S105 - moto's fake credentials
        )
        event = validate_event(local_event("benchdirect"))
        s3 = cloud.client("s3", event["cfn_region"])
        ensure_bucket(s3, event["cfn_bucket"], event["cfn_region"], event["workshop"])
        upload_templates(s3, event)
        # what the web instances' user data fetches (the install's upload, as on the real path)
        boot = cloud.client("s3", event["region_name"])
        ensure_bucket(boot, event["boot_bucket"], event["region_name"], event["workshop"])
        upload_boot(boot, event)
        handoff: dict[str, Any] = {}
        for spec in stack_table():
            entry = cfn.start_create(spec.key, event, handoff)
            while entry["status"] not in cfn.COMPLETE | {cfn.SKIPPED}:
                time.sleep(0.2)
                entry = cfn.status_of(spec.key, event, "create")
            handoff[spec.key] = entry


def wall_times() -> list[BenchResult]:
    """Best of REPEAT alternating runs of each (the machine is shared: the minimum is the
    least disturbed run)."""
    cli_runs, direct_runs = [], []
    for _ in range(REPEAT):
        cli_runs.append(_timed([sys.executable, "-m", "reslab", "deploy", "--local"]))
        direct_runs.append(_timed([sys.executable, "-m", "bench.bench_deploy", "direct"]))
    cli, direct = min(cli_runs), min(direct_runs)
    return [
        BenchResult(
            f"reslab deploy --local (wall, end to end, best of {REPEAT})",
            cli,
            "s",
            "same stacks created in order by the Lambda code, no state machine",
            direct,
        )
    ]


def run() -> list[BenchResult]:
    return wall_times()


if __name__ == "__main__":
    if sys.argv[1:] == ["direct"]:
        direct_deploy()
    else:
        for result in run():
            print(json.dumps(result.to_json()))
