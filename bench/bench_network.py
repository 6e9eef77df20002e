"""What the network model costs a connection (reslab.localcloud.network), against a direct
connection to the same real server, measured in turns so that machine load hits all alike:

* ``network.connect.<engine>``: connect + ``SELECT 1`` + close through an open gate;
* ``network.round_trip.<engine>``: ``SELECT 1`` on an open connection through a gate;
* ``network.verdict``: both verdicts of a gate (new, established) for the web tier -> the
  database over the lab's own VPC (cloudformation/vpc.yaml in a LocalCloud);
* ``network.resolve``: one name resolution by a caller process (shim -> resolver over HTTP ->
  switchboard), which the local cloud makes before each new connection.

Needs the real PostgreSQL (127.0.0.1:5432) and MariaDB (127.0.0.1:3306).

    .venv/bin/python -m bench network
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.result import BenchResult
from reslab.dburl import DbTarget, connect
from reslab.localcloud.network.gate import EventLoop, TcpUpstream
from reslab.localcloud.network.parties import Attachment, DatabasePlacement
from reslab.localcloud.network.reach import database_decision
from reslab.localcloud.network.resolver import Resolver, ResolverServer, caller_environment
from reslab.localcloud.network.switchboard import Destination, Switchboard, gate_hosts, open_gate
from reslab.localcloud.network.verdict import Decision, Verdict

REPEAT = int(os.environ.get("RESLAB_BENCH_NET_REPEAT", "200"))
SERVERS = {
    "postgres": DbTarget("postgres", "127.0.0.1", 5432, "postgres", "", "postgres"),
    "mysql": DbTarget("mysql", "127.0.0.1", 3306, "root", "", "mysql"),
}
VPC_TEMPLATE = Path(__file__).resolve().parents[1] / "cloudformation" / "vpc.yaml"
BASELINE = "direct connect + SELECT 1 (postgres)"


def interleaved(actions: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeat):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def _select_one(conn: Any) -> None:
    cur = conn.cursor()
    cur.execute("SELECT 1")
    cur.fetchone()
    cur.close()


def _connect_query(target: DbTarget) -> None:
    conn = connect(target)
    try:
        _select_one(conn)
    finally:
        conn.close()


def _through(target: DbTarget, address: tuple[str, int]) -> DbTarget:
    return DbTarget(target.engine, address[0], address[1], target.user, "", target.dbname)


def gate_costs(loop: EventLoop) -> tuple[list[BenchResult], float]:
    """Both engines' figures, and the direct PostgreSQL connect median (the others' baseline)."""
    hosts = gate_hosts()
    results: list[BenchResult] = []
    for engine, direct in SERVERS.items():
        results += _engine_costs(loop, hosts, engine, direct)
    return results, results[0].baseline_value


def _engine_costs(loop: EventLoop, hosts: Any, engine: str, direct: DbTarget) -> list[BenchResult]:
    gate = open_gate(loop, hosts, direct.port, TcpUpstream(direct.host, direct.port))
    try:
        gate.apply(accepting=True, flowing=True)
        gated = _through(direct, gate.address)
        connects = interleaved(
            {"direct": lambda: _connect_query(direct), "gate": lambda: _connect_query(gated)},
            REPEAT,
        )
        plain, proxied = connect(direct), connect(gated)
        try:
            trips = interleaved(
                {"direct": lambda: _select_one(plain), "gate": lambda: _select_one(proxied)},
                REPEAT * 5,
            )
        finally:
            plain.close()
            proxied.close()
    finally:
        gate.close()
    return [
        BenchResult(
            f"network.connect.{engine}.seconds",
            connects["gate"],
            "s",
            f"direct connect + SELECT 1 ({engine})",
            connects["direct"],
        ),
        BenchResult(
            f"network.round_trip.{engine}.seconds",
            trips["gate"],
            "s",
            f"SELECT 1 on a direct connection ({engine})",
            trips["direct"],
        ),
    ]


def verdict_cost(direct_pg: float) -> BenchResult:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ec2.models import ec2_backends

    from reslab.localcloud import LocalCloud
    from reslab.localcloud.testing import wait_for_stack

    with LocalCloud() as cloud:
        cfn = cloud.client("cloudformation", "us-east-2")
        cfn.create_stack(
            StackName="bench-VPC",
            TemplateBody=VPC_TEMPLATE.read_text(),
            Parameters=[{"ParameterKey": "Workshop", "ParameterValue": "bench"}],
        )
        out = {
            o["OutputKey"]: o["OutputValue"] for o in wait_for_stack(cfn, "bench-VPC")["Outputs"]
        }
        private = out["PrivateSubnetIds"].split(",")
        web = Attachment(private[0], (out["WebSecurityGroupId"],), private_ip=None)
        db = DatabasePlacement("db", private[1], (out["DatabaseSecurityGroupId"],), 5432, False)
        ec2 = ec2_backends[DEFAULT_ACCOUNT_ID]["us-east-2"]
        decision = database_decision(ec2, web, db)
        assert decision.new.allowed and decision.established.allowed, decision.new.explain()
        m = interleaved({"verdict": lambda: database_decision(ec2, web, db)}, REPEAT * 5)
    return BenchResult("network.verdict.seconds", m["verdict"], "s", BASELINE, direct_pg)


RESOLVE_CHILD = """
import socket, statistics, sys, time
n, name = int(sys.argv[1]), sys.argv[2]
times = []
for _ in range(n):
    start = time.perf_counter()
    socket.getaddrinfo(name, 5432)
    times.append(time.perf_counter() - start)
print(statistics.median(times))
"""


def resolve_cost(direct_pg: float) -> BenchResult:
    allowed = Verdict(True, ())
    board = Switchboard(lambda caller, dest: Decision(allowed, allowed))
    name = "db.c0ffee123456.us-east-2.rds.amazonaws.com"
    destination = Destination("db", 5432, TcpUpstream("127.0.0.1", 5432))
    server = ResolverServer(Resolver(board, lambda asked: destination if asked == name else None))
    try:
        path = os.environ.get("PATH", "/usr/bin:/bin")
        env = caller_environment(server.url, "web", {"PATH": path})
        out = subprocess.run(
            [sys.executable, "-c", RESOLVE_CHILD, str(REPEAT), name],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        server.close()
        board.close()
    return BenchResult("network.resolve.seconds", float(out), "s", BASELINE, direct_pg)


def run() -> list[BenchResult]:
    loop = EventLoop()
    try:
        results, direct_pg = gate_costs(loop)
    finally:
        loop.close()
    return [*results, verdict_cost(direct_pg), resolve_cost(direct_pg)]
