"""End to end: the model over the local cloud's EC2 state decides, gates enforce on real
connections to the machine's PostgreSQL and MariaDB, and caller processes find their gates
through per-caller name resolution."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from reslab.localcloud.network.gate import TcpUpstream
from reslab.localcloud.network.parties import Attachment, Caller, DatabasePlacement
from reslab.localcloud.network.ports import EPHEMERAL_ANY
from reslab.localcloud.network.reach import database_decision, service_decision
from reslab.localcloud.network.resolver import Resolver, ResolverServer, caller_environment
from reslab.localcloud.network.switchboard import Destination, Switchboard
from reslab.localcloud.network.verdict import Decision
from tests.network.dbclients import (
    PORTS,
    UPSTREAMS,
    InBackground,
    ask,
    connect,
    is_connect_timeout,
)
from tests.network.topologies import REGION, Vpc, backend, isolate_subnets, restore_subnets

ENGINES = ["postgres", "mysql"]
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Lab:
    vpc: Vpc
    db: DatabasePlacement
    web_group: str
    db_group: str
    callers: dict[str, Caller]

    def decide(self, caller: str, destination: Destination) -> Decision:
        db = replace(self.db, port=destination.port)
        return database_decision(backend(), self.callers[caller].sources[0], db)


@pytest.fixture
def lab(local_cloud) -> Lab:
    vpc = Vpc(local_cloud.client("ec2", REGION))
    web_subnet, db_subnet = vpc.subnet(0), vpc.subnet(1)
    web_group, checks_group, db_group = vpc.group("web"), vpc.group("checks"), vpc.group("db")
    for port in PORTS.values():
        vpc.allow(db_group, port, group=web_group)
    callers = {
        "web": Caller("instance:web", (Attachment(web_subnet, (web_group,)),)),
        "checks": Caller("lambda:checks", (Attachment(web_subnet, (checks_group,)),)),
    }
    db = DatabasePlacement("labdb", db_subnet, (db_group,), 0, False)
    return Lab(vpc, db, web_group, db_group, callers)


@pytest.fixture
def switchboard(lab) -> Iterator[Switchboard]:
    board = Switchboard(lab.decide)
    yield board
    board.close()


def destination(engine: str) -> Destination:
    return Destination(f"db:{REGION}:labdb-{engine}", PORTS[engine], UPSTREAMS[engine])


def times_out(engine: str, address: tuple[str, int]) -> bool:
    try:
        connect(engine, address, 1).close()
    except Exception as exc:
        assert is_connect_timeout(engine, exc), exc
        return True
    return False


@pytest.mark.parametrize("engine", ENGINES)
def test_lines_follow_the_model_as_the_network_changes(
    local_cloud, lab, switchboard, engine
) -> None:
    web = switchboard.dial("web", destination(engine))
    checks = switchboard.dial("checks", destination(engine))
    assert web.address != checks.address  # two callers, two identities
    conn = connect(engine, web.address, 2)
    try:
        assert ask(conn, "SELECT 6 * 7") == 42
        assert checks.decision.new.refusal.step == "security-group-ingress"
        assert times_out(engine, checks.address)

        lab.vpc.revoke_ingress(lab.db_group, PORTS[engine], lab.web_group)
        switchboard.reevaluate()
        assert web.decision.new.refusal.step == "security-group-ingress"
        assert ask(conn, "SELECT 1") == 1  # the tracked connection carries on
        assert times_out(engine, web.address)

        acl, previous = isolate_subnets(local_cloud, lab.vpc, [lab.db.subnet_id])
        switchboard.reevaluate()
        assert web.decision.established.refusal.step == "network-acl-ingress"
        frozen = InBackground(lambda: ask(conn, "SELECT 2"))
        assert not frozen.finished_within(1.5)

        restore_subnets(local_cloud, lab.vpc, acl, previous)
        switchboard.reevaluate()
        assert frozen.finished_within(5) and frozen.result() == 2
        assert times_out(engine, web.address)  # the security group still refuses new ones

        lab.vpc.allow(lab.db_group, PORTS[engine], group=lab.web_group)
        switchboard.reevaluate()
        with connect(engine, web.address, 2) as again:
            assert ask(again, "SELECT 3") == 3
    finally:
        conn.close()


CHILD = """
import sys
from tests.network.dbclients import ask, connect, is_connect_timeout
engine, host = sys.argv[1], sys.argv[2]
try:
    conn = connect(engine, (host, {"postgres": 5432, "mysql": 3306}[engine]), 2)
    print(ask(conn, "SELECT 6 * 7"))
except Exception as exc:
    print("timeout" if is_connect_timeout(engine, exc) else f"{type(exc).__name__}: {exc}")
"""
ENDPOINT = f"labdb.c0ffee123456.{REGION}.rds.amazonaws.com"


@pytest.fixture
def resolver_url(switchboard) -> Iterator[tuple[str, list[str]]]:
    engines = {f"{e}.{ENDPOINT}": destination(e) for e in ENGINES}
    asked: list[str] = []

    def lookup(name: str) -> Destination | None:
        asked.append(name)
        return engines.get(name)

    server = ResolverServer(Resolver(switchboard, lookup))
    yield server.url, asked
    server.close()


def run_as(caller: str, resolver: str, engine: str, host: str) -> subprocess.CompletedProcess[str]:
    env = caller_environment(resolver, caller, {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    return subprocess.run(
        [sys.executable, "-c", CHILD, engine, host],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_caller_processes_resolve_the_same_endpoint_name_to_their_own_gates(
    resolver_url, engine
) -> None:
    url, asked = resolver_url
    name = f"{engine}.{ENDPOINT}"
    web = run_as("web", url, engine, name)
    assert web.stdout.strip() == "42", web.stderr
    assert name in asked  # it went through the resolver, not the machine's DNS
    checks = run_as("checks", url, engine, name)
    assert checks.stdout.strip() == "timeout", checks.stderr
    assert "security-group-ingress" in checks.stderr  # the local cloud says which hop
    unknown = run_as("web", url, engine, f"gone.{ENDPOINT}")
    assert "timeout" not in unknown.stdout and "42" not in unknown.stdout
    assert "resolve" in unknown.stdout.lower() or "name or service" in unknown.stdout.lower()


def test_an_api_line_opens_when_an_interface_endpoint_serves_the_subnet(local_cloud) -> None:
    """A Lambda function's boto3 client, its endpoint URL pointing at its gate to the API."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ConnectTimeoutError

    vpc = Vpc(local_cloud.client("ec2", REGION))
    vpc.enable_dns_hostnames()
    subnet = vpc.subnet(0)
    vpc.route_table(subnet)  # no default route: no NAT
    group = vpc.group("lambda")
    source = Attachment(subnet, (group,), ephemeral=EPHEMERAL_ANY)
    host, port = local_cloud.endpoint_url.rsplit("/", 1)[-1].split(":")
    api = Destination(f"api:{REGION}:sts", 0, TcpUpstream(host, int(port)))
    board = Switchboard(lambda caller, dest: service_decision(backend(), source, "sts", REGION))
    try:
        line = board.dial("lambda", api)
        assert line.decision.new.refusal.step == "route"
        sts = boto3.client(
            "sts",
            region_name=REGION,
            endpoint_url=f"http://{line.address[0]}:{line.address[1]}",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's fake credentials
            config=Config(connect_timeout=1, retries={"total_max_attempts": 1}),
        )
        with pytest.raises(ConnectTimeoutError):
            sts.get_caller_identity()
        endpoint_group = vpc.group("endpoint")
        vpc.allow(endpoint_group, 443, group=group)
        vpc.ec2.create_vpc_endpoint(
            VpcId=vpc.vpc_id,
            ServiceName=f"com.amazonaws.{REGION}.sts",
            VpcEndpointType="Interface",
            SubnetIds=[subnet],
            SecurityGroupIds=[endpoint_group],
            PrivateDnsEnabled=True,
        )
        board.reevaluate()
        assert line.decision.new.allowed, line.decision.new.explain()
        assert sts.get_caller_identity()["Account"]
    finally:
        board.close()
