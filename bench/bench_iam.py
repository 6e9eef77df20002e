"""IAM enforcement's overhead on ``reslab deploy --local`` (issue 11; target under 15 %).

Wall time of the whole command in a fresh process (start the local cloud, install, run the deploy
machine, stop), with enforcement on (``RESLAB_LOCAL_IAM=1``) against ``--no-iam``, alternating in
the same run, best of :data:`REPEAT` each (the machine is shared: the minimum is the least
disturbed run).
"""

from __future__ import annotations

import sys

from bench.bench_deploy import _timed
from bench.result import BenchResult

REPEAT = 2


def run() -> list[BenchResult]:
    deploy = [sys.executable, "-m", "reslab", "deploy", "--local"]
    enforced, off = [], []
    for _ in range(REPEAT):
        enforced.append(_timed([*deploy], iam=True))
        off.append(_timed([*deploy, "--no-iam"], iam=False))
    return [
        BenchResult(
            f"reslab deploy --local, IAM enforced (wall, best of {REPEAT})",
            min(enforced),
            "s",
            "the same with --no-iam",
            min(off),
        )
    ]
