"""Issue 12's strictness table, walked: each way the backup check can be wired wrong fails with a
named error and leaves nothing behind, on PostgreSQL and MySQL, for a lab in one region and a
lab in two (its database with a cross-region read replica, as the replica stack makes it); the
same lab wired right passes. The step is the nested backup check (the restore machine the
deploy starts) against the session's installed lab (``installed_lab``), not a whole deploy.

Cells sharing a breakage run at once; the no-NAT cells, whose calls wait out botocore's connect
timeouts and retries as on AWS (a minute or more), run on a second install from the start, so
the module costs about their wait.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from reslab.localcloud import lambda_exec
from reslab.localcloud.context import cloud_context as runtime
from reslab.localcloud.dbbacking import DbBacking
from tests.restore.conftest import MYSQL_ADMIN, PG_ADMIN
from tests.restore.lab import (
    REGION,
    Execution,
    RestoreLab,
    network_notes,
    outside_the_vpc,
)

SECONDARY = "us-west-2"
ENGINES = {"postgres": PG_ADMIN, "mysql": MYSQL_ADMIN}
REGION_SETS = {"one-region": (REGION,), "two-regions": (REGION, SECONDARY)}


@dataclass(frozen=True)
class Mode:
    """A way of wiring the checks, and what the run must end with."""

    status: str
    error: str | None = None
    #: in the execution's cause: the client's own words on AWS, per engine (``*``: any)
    cause: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: in the check Lambdas' log: the model's refusal, naming the hop
    hop: str = ""


#: What each client says when its connect times out (docs/network-model.md, "Gates").
DATABASE_TIMEOUT = {
    "postgres": ("connection timeout expired",),
    "mysql": ("(2003, ", "Can't connect to MySQL server on", "(timed out)"),
}

MODES = {
    "right": Mode("SUCCEEDED"),
    "no-vpc-attachment": Mode(
        "FAILED", "CheckQueryFailed", DATABASE_TIMEOUT, "refused at publicly-accessible"
    ),
    "database-group-refuses-checks": Mode(
        "FAILED", "CheckQueryFailed", DATABASE_TIMEOUT, "refused at security-group-ingress"
    ),
    "no-nat-no-endpoint": Mode(
        "FAILED",
        "ConnectTimeoutError",
        {"*": ("Connect timeout on endpoint URL",)},
        "refused at route",
    ),
}

#: The table the tests walk: failure mode x engine x regions.
CELLS = [(m, e, r) for m in MODES for e in ENGINES for r in REGION_SETS]


@dataclass
class Source:
    lab: RestoreLab
    instance: str
    regions: tuple[str, ...]


@dataclass
class Result:
    execution: Execution
    notes: str
    #: per region: (instances, snapshots) of the lab before and after its group of runs
    before: dict[str, tuple[set[str], set[str]]]
    after: dict[str, tuple[set[str], set[str]]]


def _names(lab: RestoreLab) -> tuple[str, ...]:
    """How the lab's instances and snapshots start (sources, replicas, temporary copies)."""
    return lab.prefix, f"verify-{lab.prefix}"


def _footprint(lab: RestoreLab, region: str) -> tuple[set[str], set[str]]:
    """The lab's DB instances (not being deleted) and snapshots in ``region``."""
    rds = lab.cloud.client("rds", region)
    instances = {
        db["DBInstanceIdentifier"]
        for db in rds.describe_db_instances()["DBInstances"]
        if db["DBInstanceIdentifier"].startswith(_names(lab))
        and db["DBInstanceStatus"] != "deleting"
    }
    snapshots = {
        s["DBSnapshotIdentifier"]
        for s in rds.describe_db_snapshots()["DBSnapshots"]
        if s["DBSnapshotIdentifier"].startswith(_names(lab))
    }
    return instances, snapshots


def _source(lab: RestoreLab, engine: str, regions: tuple[str, ...]) -> Source:
    instance = lab.create_source(f"{engine[:2]}{len(regions)}{uuid.uuid4().hex[:4]}", engine)
    lab.seed(instance, customers=3)
    if len(regions) > 1:  # the replica stack's cross-region read replica
        rds = lab.client("rds")
        [db] = rds.describe_db_instances(DBInstanceIdentifier=instance)["DBInstances"]
        lab.cloud.client("rds", regions[1]).create_db_instance_read_replica(
            DBInstanceIdentifier=f"{instance}-replica",
            SourceDBInstanceIdentifier=db["DBInstanceArn"],
            DBInstanceClass="db.t3.micro",
            SourceRegion=regions[0],
        )
    return Source(lab, instance, regions)


def _run_group(cells: dict[Any, Source]) -> dict[Any, Result]:
    """Run the cells' checks at once (one lab); each sees the lab's footprint around them all."""
    (lab,) = {id(s.lab): s.lab for s in cells.values()}.values()
    regions = sorted({r for s in cells.values() for r in s.regions})
    since = int(time.time() * 1000)
    before = {r: _footprint(lab, r) for r in regions}
    with ThreadPoolExecutor(len(cells)) as pool:
        runs = {
            cell: pool.submit(lab.run, lab.event(s.instance, snapshot="new"), 400)
            for cell, s in cells.items()
        }
        done = {cell: run.result() for cell, run in runs.items()}
    after = {r: _footprint(lab, r) for r in regions}
    notes = network_notes(lab, since)
    return {
        cell: Result(
            done[cell],
            notes,
            {r: before[r] for r in s.regions},
            {r: after[r] for r in s.regions},
        )
        for cell, s in cells.items()
    }


# -- the breakages: each undoes itself ----------------------------------------------------------
@contextmanager
def _right(_lab: RestoreLab) -> Iterator[None]:
    yield


@contextmanager
def _group_refusing_checks(lab: RestoreLab) -> Iterator[None]:
    lab.allow_checks(lab.check_group, allowed=False)
    try:
        yield
    finally:
        lab.allow_checks(lab.check_group)


@contextmanager
def _no_nat(lab: RestoreLab) -> Iterator[None]:
    """The private subnets' default route to the NAT gateway removed (no endpoint exists)."""
    ec2 = lab.client("ec2")
    nat_routes = [
        (table["RouteTableId"], route["NatGatewayId"])
        for table in ec2.describe_route_tables()["RouteTables"]
        for route in table["Routes"]
        if route.get("NatGatewayId")
        and route.get("DestinationCidrBlock") == "0.0.0.0/0"
        and table["VpcId"] == lab_vpc(lab)
    ]
    assert nat_routes, "the lab has no NAT route"
    for table, _nat in nat_routes:
        ec2.delete_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0")
    try:
        yield
    finally:
        for table, nat in nat_routes:
            ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)


def lab_vpc(lab: RestoreLab) -> str:
    group = lab.client("ec2").describe_security_groups(GroupIds=[lab.check_group])
    return str(group["SecurityGroups"][0]["VpcId"])


BREAKAGES: dict[str, Callable[[RestoreLab], Any]] = {
    "right": _right,
    "no-vpc-attachment": outside_the_vpc,
    "database-group-refuses-checks": _group_refusing_checks,
    "no-nat-no-endpoint": _no_nat,
}


def _api_refusal(lab: RestoreLab) -> str:
    """The model's verdict on the snapshot function's way to the RDS API."""
    from moto.awslambda.models import lambda_backends
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ec2.models import ec2_backends

    from reslab.localcloud.network.parties import lambda_caller
    from reslab.localcloud.network.reach import service_verdict

    function = lambda_backends[DEFAULT_ACCOUNT_ID][REGION].get_function(
        f"{lab.prefix}-backup_snapshot"
    )
    verdicts = [
        service_verdict(ec2_backends[DEFAULT_ACCOUNT_ID][REGION], source, "rds", REGION)
        for source in lambda_caller(function).sources
    ]
    return "\n".join(v.explain() for v in verdicts)


def _state_dir() -> Path:
    assert runtime.state_dir is not None
    return runtime.state_dir


@contextmanager
def serving(db: DbBacking) -> Iterator[None]:
    """``db`` backs the instances created inside (and is where their databases are found)."""
    with runtime.lock:
        previous = runtime.services.get("db")
        runtime.services["db"] = db
    try:
        yield
    finally:
        with runtime.lock:
            runtime.services.pop("db")
            if previous is not None:
                runtime.services["db"] = previous


def _delete(sources: list[Source]) -> None:
    for source in sources:
        lab = source.lab
        for region in source.regions[1:]:
            lab.cloud.client("rds", region).delete_db_instance(
                DBInstanceIdentifier=f"{source.instance}-replica", SkipFinalSnapshot=True
            )
        lab.client("rds").delete_db_instance(
            DBInstanceIdentifier=source.instance, SkipFinalSnapshot=True
        )


#: The cells run on the session's lab (the no-NAT ones on their own install), in this order.
QUICK_MODES = [m for m in MODES if m != "no-nat-no-endpoint"]


@pytest.fixture(scope="module")
def outcomes(installed_lab: RestoreLab, restore_cloud: Any) -> Iterator[dict[Any, Result]]:
    """Sources on both engines first (the backing engine is the local cloud's, one at a time),
    then the no-NAT runs in the background (they reach no database), each engine's other cells
    under its backing; the sources are deleted, replicas first, before the backings close."""
    lab = installed_lab
    other = RestoreLab(restore_cloud, f"rn{uuid.uuid4().hex[:6]}").install()
    results: dict[Any, Result] = {}
    slow_cells: dict[Any, Source] = {}
    quick: dict[str, dict[str, Source]] = {}
    backings = {engine: DbBacking(url, _state_dir()) for engine, url in ENGINES.items()}
    background = ThreadPoolExecutor(1)
    try:
        # the no-NAT invocations hang for a minute, using no CPU: the account's concurrency
        # (1000 on AWS, a few here) must not make the other cells queue behind them
        slots = lambda_exec.pool().settings.concurrency + len(ENGINES) * len(REGION_SETS)
        with _no_nat(other), lambda_exec.pool_settings(concurrency=slots):
            for engine, db in backings.items():
                with serving(db):
                    quick[engine] = {r: _source(lab, engine, rs) for r, rs in REGION_SETS.items()}
                    for regions, region_set in REGION_SETS.items():
                        slow_cells[("no-nat-no-endpoint", engine, regions)] = _source(
                            other, engine, region_set
                        )
            slow = background.submit(_run_group, slow_cells)
            refusal = _api_refusal(other)
            for engine, db in backings.items():
                with serving(db):
                    for mode in QUICK_MODES:
                        with BREAKAGES[mode](lab):
                            cells = {(mode, engine, r): s for r, s in quick[engine].items()}
                            results.update(_run_group(cells))
            for cell, result in slow.result().items():
                # API calls go to the caller's gate by address: no name is resolved, so no
                # note is logged; the model's refusal is what shut the gate
                results[cell] = replace(result, notes=refusal)
        yield results
    finally:
        background.shutdown(wait=True)
        for engine, db in backings.items():
            with serving(db):
                _delete([*quick.get(engine, {}).values()])
                _delete([s for (_m, e, _r), s in slow_cells.items() if e == engine])
            db.shutdown()


@pytest.mark.parametrize(("mode", "engine", "regions"), CELLS)
def test_strictness_cell(outcomes: dict[Any, Result], mode: str, engine: str, regions: str) -> None:
    expected = MODES[mode]
    result = outcomes[(mode, engine, regions)]
    run = result.execution
    assert (run.status, run.error) == (expected.status, expected.error), run.cause
    for words in expected.cause.get(engine) or expected.cause.get("*", ()):
        assert words in run.cause, run.cause
    if expected.hop:
        assert expected.hop in result.notes, result.notes
    else:
        assert "refused at" not in result.notes, result.notes
    # nothing left behind in any region of the lab: what the run made is gone
    assert result.after == result.before
    assert len(result.before) == len(REGION_SETS[regions])
