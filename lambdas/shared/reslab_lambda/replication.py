"""The DMS replication task of a stack (``replication_task_output`` in the stack table) in the
status handoff: the deploy starts it once the stack is complete and reports the stack complete
only when the full load is done; the teardown stops it before the stack is deleted
(CloudFormation cannot delete a running task).

Like the rest of the handoff these functions never sleep: they act, then return the status
the machine's wait loop keeps polling (:data:`FULL_LOAD`, :data:`STOPPING`), which is neither
complete nor failed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from reslab_lambda.aws import client, error_code
from reslab_lambda.errors import ReplicationFailed
from reslab_lambda.stacks import StackSpec

#: Handoff status while the task starts and loads (the deploy keeps waiting).
FULL_LOAD = "REPLICATION_FULL_LOAD_IN_PROGRESS"
#: Handoff status while the task stops before the teardown deletes the stack.
STOPPING = "REPLICATION_STOPPING"
#: Handoff status once the task is stopped and the stack not yet deleted: the teardown machine
#: goes back to its delete step (the ``delete_stack`` Lambda deletes; ``stack_status`` only reads,
#: starts and stops tasks).
STOPPED = "REPLICATION_STOPPED"
_RUNNING = frozenset({"running", "starting"})


def output(stack: Mapping[str, Any], key: str | None) -> str | None:
    """The stack's output ``key`` (None: no such output, or no key)."""
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return outputs.get(key or "")


def task_arn(spec: StackSpec, stack: Mapping[str, Any]) -> str | None:
    return output(stack, spec.replication_task_output)


def describe_task(dms: Any, arn: str) -> dict[str, Any] | None:
    try:
        tasks = dms.describe_replication_tasks(
            Filters=[{"Name": "replication-task-arn", "Values": [arn]}]
        )["ReplicationTasks"]
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundFault":
            return None
        raise
    return tasks[0] if tasks else None


def after_create(spec: StackSpec, region: str, stack: Mapping[str, Any]) -> str:
    """The stack's status once its task runs with the full load done; until then start it
    (a new task, or resume a stopped one) and report :data:`FULL_LOAD`."""
    arn = task_arn(spec, stack)
    if arn is None:
        raise ReplicationFailed(
            f"stack {stack['StackName']} ({spec.key}) has no output {spec.replication_task_output}"
        )
    dms = client("dms", region)
    task = describe_task(dms, arn)
    if task is None:
        raise ReplicationFailed(f"stack {stack['StackName']} ({spec.key}): task {arn} not found")
    status = task["Status"]
    if status == "failed":
        reason = task.get("LastFailureMessage") or task.get("StopReason") or "no reason given"
        raise ReplicationFailed(
            f"replication task {task['ReplicationTaskIdentifier']} of stack "
            f"{stack['StackName']} ({spec.key}, {region}) failed: {reason}{_hint(reason)}"
        )
    if status in ("ready", "stopped"):  # never started / stopped by an earlier teardown
        prepare_target(spec, region, stack)
        dms.start_replication_task(
            ReplicationTaskArn=arn,
            StartReplicationTaskType="start-replication"
            if status == "ready"
            else "resume-processing",
        )
        return FULL_LOAD
    stats = task.get("ReplicationTaskStats") or {}
    if status == "running" and stats.get("FullLoadProgressPercent") == 100:
        return str(stack["StackStatus"])
    return FULL_LOAD


def prepare_target(spec: StackSpec, region: str, stack: Mapping[str, Any]) -> None:
    """Invoke the stack's preparation function (``replication_preparation_output``) and wait
    for it: the target must hold the schema and the DMS user before the task logs in. It is
    idempotent, so a resumed task runs it again (a rotated user secret takes effect)."""
    if not spec.replication_preparation_output:
        return
    arn = output(stack, spec.replication_preparation_output)
    if arn is None:
        raise ReplicationFailed(
            f"stack {stack['StackName']} ({spec.key}) has no output "
            f"{spec.replication_preparation_output}"
        )
    answer = client("lambda", region).invoke(FunctionName=arn, Payload=b"{}")
    body = answer["Payload"].read()
    if answer.get("FunctionError"):
        try:
            error = json.loads(body)
            reason = f"{error.get('errorType', 'Error')}: {error.get('errorMessage', '')}"
        except ValueError:
            reason = body.decode(errors="replace")[:500]
        raise ReplicationFailed(
            f"target preparation of stack {stack['StackName']} ({spec.key}, {region}) "
            f"failed: {reason}{_hint(reason)}"
        )


def _hint(reason: str) -> str:
    """Where to look when DMS could not log in: the DMS users come from their secrets."""
    if "denied" not in reason.lower():
        return ""
    return (
        " -- a DMS user was refused: the source user is made by the web tier's bootstrap, the "
        "target user and schema by the target preparation (docs/dms.md#target-preparation)"
    )


def before_delete(spec: StackSpec, region: str, stack: Mapping[str, Any]) -> str | None:
    """:data:`STOPPING` while the stack's task is (being) stopped, None once it may be deleted."""
    arn = task_arn(spec, stack)
    if arn is None:
        return None
    dms = client("dms", region)
    task = describe_task(dms, arn)
    if task is None:
        return None
    if task["Status"] in _RUNNING:
        dms.stop_replication_task(ReplicationTaskArn=arn)
        return STOPPING
    if task["Status"] == "stopping":
        return STOPPING
    return None
