"""The deploy and teardown state machines, generated from the stack table.

One Parallel state per dependency level (``reslab_lambda.stacks.deploy_levels``), one wait per
stack: an ``Await`` Task (``lambda:invoke.waitForTaskToken``) that the stack's completion event
answers with its handoff entry (``reslab_lambda.handoff``); its timeout (event key
``await_seconds``) is the fallback for a lost event: one ``stack_status`` check, then the Await
again. A status CloudFormation sends no event for (a DMS task's full load) is polled: Wait with
backoff, then ``stack_status``. The deploy machine then verifies the backups with a nested
restore-integrity execution (``reslab.machines.restore``).
Regenerate with ``python -m reslab.machines`` (:mod:`reslab.machines.generate`).
"""

from __future__ import annotations

from typing import Any

from reslab.functions import function
from reslab.machines.asl import lambda_task
from reslab.machines.restore import nested_verification
from reslab_lambda.cfn import CFN_IN_PROGRESS, COMPLETE, GONE, SKIPPED
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


#: The Await Task's error when no answer came within ``await_seconds`` (a lost event).
_NO_ANSWER = "States.Timeout"


def _await_task(key: str, action: str, nxt: str, fallback: str, fail: str) -> dict[str, Any]:
    """Invoke ``await_stack`` with the task token; the answer (the stack's event, or
    ``await_stack`` itself) is the stack's handoff entry, or its named error."""
    fn = function("await_stack")
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {
            "FunctionName": f"${{{fn.placeholder}}}",
            "Payload": {
                "key": key,
                "event.$": "$.event",
                "action": action,
                "token.$": "$$.Task.Token",
            },
        },
        "ResultPath": f"$.stacks.{key}",
        "TimeoutSecondsPath": "$.event.await_seconds",
        "Retry": [
            {**RETRY[0], "ErrorEquals": [e for e in RETRY[0]["ErrorEquals"] if e != _NO_ANSWER]}
        ],
        "Catch": [
            {"ErrorEquals": [_NO_ANSWER], "ResultPath": "$.error", "Next": fallback},
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": fail},
        ],
        "Next": nxt,
    }


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
    """One stack's wait: start the action, then Await its completion event; a status without
    an event (a DMS task's) is polled: Wait (doubling up to the cap) and check."""
    label, key = spec.label, spec.key
    verb = "Create" if action == "create" else "Delete"
    status = f"$.stacks.{key}.status"
    done_statuses = sorted(COMPLETE) if action == "create" else [GONE]
    s = {
        "init": f"Init wait {label}",
        "start": f"{verb} {label}",
        "started": f"{label} {verb.lower()} started",
        "await": f"Await {label}",
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
        s["start"]: _task(start_fn, start_params, f"$.stacks.{key}", s["started"], s["failed"]),
        s["started"]: {
            "Type": "Choice",
            "Choices": [_status_is(status, [*done_statuses, SKIPPED], s["done"])],
            "Default": s["await"],
        },
        s["await"]: _await_task(key, action, s["ready"], s["check"], s["failed"]),
        s["init"]: {
            "Type": "Pass",
            "Comment": "The first poll: a status without an event.",
            "Parameters": {"seconds.$": "$.event.poll_seconds"},
            "ResultPath": "$.wait",
            "Next": s["wait"],
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
                _status_is(status, sorted(CFN_IN_PROGRESS), s["await"]),
                {"Variable": wait_seconds, "IsPresent": False, "Next": s["init"]},
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
    return {"StartAt": s["start"], "States": states}


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
