"""The deploy and teardown state machines, generated from the stack table.

One Parallel state per dependency level (``reslab_lambda.stacks.deploy_levels``), one wait loop
per stack (Wait with backoff, then the ``stack_status`` Lambda); the deploy machine then verifies
the backups with a nested restore-integrity execution (``reslab.machines.restore``).
Regenerate with ``python -m reslab.machines`` (:mod:`reslab.machines.generate`).
"""

from __future__ import annotations

from typing import Any

from reslab.machines.asl import lambda_task
from reslab.machines.restore import nested_verification
from reslab_lambda.cfn import COMPLETE, GONE, SKIPPED
from reslab_lambda.replication import STOPPED
from reslab_lambda.stacks import StackSpec, deploy_levels

#: Transient Lambda/Step Functions errors every Task retries (the Lambdas are idempotent).
RETRY = [
    {
        "ErrorEquals": [
            "Lambda.ServiceException",
            "Lambda.AWSLambdaException",
            "Lambda.SdkClientException",
            "Lambda.TooManyRequestsException",
            "Lambda.ClientExecutionTimeoutException",
            "States.Timeout",
        ],
        "IntervalSeconds": 2,
        "MaxAttempts": 4,
        "BackoffRate": 2.0,
    }
]


def _task(
    function: str, parameters: dict[str, Any] | None, result_path: str, nxt: str, fail: str
) -> dict[str, Any]:
    return lambda_task(
        function, result_path, nxt, retry=RETRY, catch_to=fail, parameters=parameters
    )


def _fail(comment: str) -> dict[str, Any]:
    return {
        "Type": "Fail",
        "Comment": comment,
        "ErrorPath": "$.error.Error",
        "CausePath": "$.error.Cause",
    }


def _status_is(variable: str, statuses: list[str], nxt: str) -> dict[str, Any]:
    return {"Or": [{"Variable": variable, "StringEquals": s} for s in statuses], "Next": nxt}


def _stack_branch(spec: StackSpec, action: str) -> dict[str, Any]:
    """One stack's loop: start the action, then Wait (doubling up to the cap) and check."""
    label, key = spec.label, spec.key
    verb = "Create" if action == "create" else "Delete"
    status = f"$.stacks.{key}.status"
    done_statuses = sorted(COMPLETE) if action == "create" else [GONE]
    s = {
        "init": f"Init wait {label}",
        "start": f"{verb} {label}",
        "started": f"{label} {verb.lower()} started",
        "wait": f"Wait {label}",
        "check": f"Check {label}",
        "ready": f"{label} {'ready' if action == 'create' else 'gone'}?",
        "backoff": f"Back off {label}",
        "capped": f"{label} wait capped?",
        "cap": f"Cap wait {label}",
        "done": f"{label} {'done' if action == 'create' else 'deleted'}",
        "failed": f"{label} failed",
    }
    start_fn = "create_stack" if action == "create" else "delete_stack"
    start_params: dict[str, Any] = {"key": key, "event.$": "$.event"}
    if action == "create":
        start_params["stacks.$"] = "$.stacks"
    ready_choices = [_status_is(status, [*done_statuses, SKIPPED], s["done"])]
    if action == "create":  # a rolled-back stack was deleted by Create: create it again
        ready_choices.append({"Variable": status, "StringEquals": GONE, "Next": s["start"]})
    elif spec.replication_task_output or spec.check_vpc:
        # its DMS task is stopped, or the check Lambdas have left its VPC: now delete the stack
        ready_choices.append({"Variable": status, "StringEquals": STOPPED, "Next": s["start"]})
    wait_seconds, poll_max = "$.wait.seconds", "$.event.poll_max_seconds"
    states: dict[str, Any] = {
        s["init"]: {
            "Type": "Pass",
            "Parameters": {"seconds.$": "$.event.poll_seconds"},
            "ResultPath": "$.wait",
            "Next": s["start"],
        },
        s["start"]: _task(start_fn, start_params, f"$.stacks.{key}", s["started"], s["failed"]),
        s["started"]: {
            "Type": "Choice",
            "Choices": [_status_is(status, [*done_statuses, SKIPPED], s["done"])],
            "Default": s["wait"],
        },
        s["wait"]: {"Type": "Wait", "SecondsPath": wait_seconds, "Next": s["check"]},
        s["check"]: _task(
            "stack_status",
            {"key": key, "event.$": "$.event", "action": action},
            f"$.stacks.{key}",
            s["ready"],
            s["failed"],
        ),
        s["ready"]: {
            "Type": "Choice",
            "Choices": [
                *ready_choices,
                {"Variable": wait_seconds, "NumericLessThanPath": poll_max, "Next": s["backoff"]},
            ],
            "Default": s["wait"],
        },
        s["backoff"]: {
            "Type": "Pass",
            "Comment": "Double the wait.",
            "Parameters": {"seconds.$": f"States.MathAdd({wait_seconds}, {wait_seconds})"},
            "ResultPath": "$.wait",
            "Next": s["capped"],
        },
        s["capped"]: {
            "Type": "Choice",
            "Choices": [
                {"Variable": wait_seconds, "NumericGreaterThanPath": poll_max, "Next": s["cap"]}
            ],
            "Default": s["wait"],
        },
        s["cap"]: {
            "Type": "Pass",
            "Parameters": {"seconds.$": poll_max},
            "ResultPath": "$.wait",
            "Next": s["wait"],
        },
        s["done"]: {"Type": "Pass", "Parameters": {f"{key}.$": f"$.stacks.{key}"}, "End": True},
        s["failed"]: _fail(f"{verb} of the {label} stack failed (StackFailed names the reason)."),
    }
    return {"StartAt": s["init"], "States": states}


#: The deploy machine's last states: the lab is up and (unless skipped) its backups verified.
DEPLOYED = "Lab deployed"
BACKUP_CHECK_FAILED = "Backup check failed"


def _merge_expression(count: int) -> str:
    """``States.JsonMerge`` of the Parallel's branch results into ``$.stacks``."""
    expr = "$.level[0]"
    for i in range(1, count):
        expr = f"States.JsonMerge({expr}, $.level[{i}], false)"
    return f"States.JsonMerge($.stacks, {expr}, false)"


def _machine(action: str, levels: list[list[StackSpec]]) -> dict[str, Any]:
    verb = "Deploy" if action == "create" else "Tear down"
    comment = (
        "Deploy the resiliency lab: validate the event, then each dependency level of stacks in "
        "parallel, waiting with backoff. Generated by reslab.machines.deploy from "
        "cloudformation/stacks.json."
        if action == "create"
        else "Tear the resiliency lab down in reverse dependency order, in both regions. "
        "Generated by reslab.machines.deploy from cloudformation/stacks.json."
    )
    states: dict[str, Any] = {
        "Validate event": _task("validate_event", None, "$", "", "Invalid event"),
        "Invalid event": _fail("The event was rejected (InvalidEvent names the key)."),
    }
    names = [f"{verb} {' + '.join(spec.label for spec in level)}" for level in levels]
    states["Validate event"]["Next"] = names[0]
    for i, (level, name) in enumerate(zip(levels, names, strict=True)):
        collect = f"Collect {' + '.join(spec.label for spec in level)}"
        last = i == len(levels) - 1
        states[name] = {
            "Type": "Parallel",
            "Branches": [_stack_branch(spec, action) for spec in level],
            "ResultPath": "$.level",
            "Next": collect,
        }
        if not last:
            then: dict[str, Any] = {"Next": names[i + 1]}
        elif action == "create":  # the deployed lab's backups are verified last
            then = {"Next": "Verify backups?"}
        else:
            then = {"End": True}
        states[collect] = {
            "Type": "Pass",
            "Parameters": {"event.$": "$.event", "stacks.$": _merge_expression(len(level))},
            **then,
        }
    if action == "create":
        states.update(nested_verification(DEPLOYED, BACKUP_CHECK_FAILED))
        states[DEPLOYED] = {"Type": "Succeed"}
        states[BACKUP_CHECK_FAILED] = {
            "Type": "Fail",
            "Error": "BackupCheckFailed",
            "Cause": "The lab is up, but the nested restore-integrity execution failed: "
            "see its history and report (reslab reports).",
        }
    return {"Comment": comment, "StartAt": "Validate event", "States": states}


def deploy_definition(table: tuple[StackSpec, ...] | None = None) -> dict[str, Any]:
    return _machine("create", deploy_levels(table))


def teardown_definition(table: tuple[StackSpec, ...] | None = None) -> dict[str, Any]:
    return _machine("delete", list(reversed(deploy_levels(table))))
