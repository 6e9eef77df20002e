"""``reslab failover --region``: the participant's move in the regional failover exercise
(docs/dms.md): make the dms stack's writable target in the secondary region the database.

1. wait until the DMS task has applied everything that reached its source (the read replica,
   which the lost region no longer feeds): its table statistics stop changing for
   ``quiet_s`` seconds, or ``timeout_s`` passes;
2. stop the task (nothing may overwrite the new primary);
3. hand back the target's endpoint and master secret, and the time all this took.

The rows the failover lost are counted afterwards, once the old primary is reachable again
(``reslab recover region``), by ``reslab db-rpo`` (:mod:`reslab.checks.rpo`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from reslab.chaos.errors import LabResourceNotFound, NothingToInject
from reslab.chaos.lab import Lab
from reslab_lambda.replication import describe_task
from reslab_lambda.stacks import spec_for

DMS_STACK = spec_for("dms").suffix
DEFAULT_QUIET_S = 30.0
DEFAULT_TIMEOUT_S = 600.0


@dataclass
class RegionalFailover:
    region: str
    task: str
    target_address: str
    target_port: str
    target_secret_arn: str
    #: Changes the task applied (inserts + updates + deletes + full-load rows) when stopped.
    applied: int
    #: True when the task went quiet; False when ``timeout_s`` ran out first.
    drained: bool
    elapsed_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _applied(dms: Any, task_arn: str) -> int:
    # the lab's mappings select its two tables: one page (up to 500 rows) holds them
    tables = dms.describe_table_statistics(ReplicationTaskArn=task_arn, MaxRecords=500)
    return sum(
        int(t.get("FullLoadRows", 0))
        + int(t.get("Inserts", 0))
        + int(t.get("Updates", 0))
        + int(t.get("Deletes", 0))
        for t in tables.get("TableStatistics", [])
    )


def failover_region(
    lab: Lab,
    region: str,
    quiet_s: float = DEFAULT_QUIET_S,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    poll_s: float = 1.0,
    say: Callable[[str], None] = lambda _text: None,
) -> RegionalFailover:
    """Drain, stop and hand over the dms stack's task in ``region`` (the secondary region)."""
    started = time.monotonic()
    outputs = lab.stack_outputs(DMS_STACK, region)
    if not outputs.get("ReplicationTaskArn"):
        raise LabResourceNotFound(
            f"no stack {lab.stack_name(DMS_STACK)} in {region} (deploy with dms: true and a "
            "secondary region)"
        )
    arn = outputs["ReplicationTaskArn"]
    dms = lab.client("dms", region)
    task = describe_task(dms, arn)
    if task is None or task["Status"] != "running":
        status = task["Status"] if task else "missing"
        raise NothingToInject(
            f"replication task {arn} is {status}, not running: nothing to fail over"
        )
    applied, quiet_since, drained = _applied(dms, arn), time.monotonic(), False
    say(f"draining {task['ReplicationTaskIdentifier']}: {applied} change(s) applied so far")
    while time.monotonic() - started < timeout_s:
        time.sleep(poll_s)
        now_applied = _applied(dms, arn)
        if now_applied != applied:
            applied, quiet_since = now_applied, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            drained = True
            break
    say(f"{'drained' if drained else 'timed out'}: stopping the task ({applied} applied)")
    dms.stop_replication_task(ReplicationTaskArn=arn)
    while (describe_task(dms, arn) or {}).get("Status") in ("running", "stopping"):
        time.sleep(poll_s)
    return RegionalFailover(
        region=region,
        task=arn,
        target_address=outputs.get("TargetEndpointAddress", ""),
        target_port=outputs.get("TargetEndpointPort", ""),
        target_secret_arn=outputs.get("TargetMasterSecretArn", ""),
        applied=applied,
        drained=drained,
        elapsed_s=round(time.monotonic() - started, 3),
    )
