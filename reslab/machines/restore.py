"""The restore-integrity (backup verification) state machine, checked in as
``statemachine/restore.asl.json`` (regenerate with ``python -m reslab.machines``).

Every Task catches ``States.ALL`` into ``$.error`` and jumps to the Parallel cleanup+notification;
the Notification branch catches its own failure so that it never cancels the cleanup. The machine
then fails with the caught error's name (``ErrorPath``), or ``CleanupFailed`` /
``NotificationFailed``, or succeeds. :func:`nested_verification` gives the states a parent
machine (the deploy machine) splices in to run it as a nested execution.
"""

from __future__ import annotations

from typing import Any

from reslab.machines.asl import lambda_task

FINISH = "Cleanup and notify"
RETRY_TRANSIENT = {
    "ErrorEquals": [
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
    ],
    "IntervalSeconds": 2,
    "MaxAttempts": 3,
    "BackoffRate": 2.0,
}


def _task(
    function: str,
    result_path: str,
    nxt: str,
    parameters: dict[str, Any] | None = None,
    catch_to: str = FINISH,
    catch_path: str = "$.error",
) -> dict[str, Any]:
    return lambda_task(
        function,
        result_path,
        nxt,
        retry=[RETRY_TRANSIENT],
        catch_to=catch_to,
        parameters=parameters,
        catch_path=catch_path,
    )


def _reset_wait(nxt: str) -> dict[str, Any]:
    return {
        "Type": "Pass",
        "Parameters": {"wait_seconds.$": "$.run.poll_seconds", "ready": False},
        "ResultPath": "$.poll",
        "Next": nxt,
    }


def _branch(function: str, label: str) -> dict[str, Any]:
    """One side of the Parallel: a Task whose failure becomes data (never fails the branch)."""
    failed = f"{label} failed"
    task = _task(function, "$.result", f"{label} done", catch_to=failed, catch_path="$.caught")
    task["ResultPath"] = "$.result"
    if function == "backup_cleanup":
        task["Retry"] = [
            RETRY_TRANSIENT,
            {  # e.g. an instance RDS will not delete yet (InvalidDBInstanceState): ~15 min
                "ErrorEquals": ["CleanupFailed"],
                "IntervalSeconds": 30,
                "MaxAttempts": 5,
                "BackoffRate": 2.0,
            },
        ]
    return {
        "StartAt": label,
        "States": {
            label: task,
            f"{label} done": {"Type": "Pass", "InputPath": "$.result", "End": True},
            failed: {
                "Type": "Pass",
                "Parameters": {
                    "failed": True,
                    "error.$": "$.caught.Error",
                    "cause.$": "$.caught.Cause",
                },
                "End": True,
            },
        },
    }


def _poll_loop(what: str, ready: str, then: str) -> dict[str, Any]:
    """Wait (``$.poll.wait_seconds``), check ``what`` with the poll Lambda, on to ``then`` once
    it is ready, else wait again."""
    wait, check = f"Wait for {what}", f"Check {what}"
    return {
        wait: {"Type": "Wait", "SecondsPath": "$.poll.wait_seconds", "Next": check},
        check: _task("backup_poll", "$.poll", ready, {"what": what, "state.$": "$"}),
        ready: {
            "Type": "Choice",
            "Choices": [{"Variable": "$.poll.ready", "BooleanEquals": True, "Next": then}],
            "Default": wait,
        },
    }


def definition() -> dict[str, Any]:
    states: dict[str, Any] = {
        "Prepare": _task("backup_prepare", "$.run", "Init wait"),
        "Init wait": _reset_wait("Pick snapshot"),
        "Pick snapshot": _task("backup_snapshot", "$.snapshot_info", "Snapshot available?"),
        "Snapshot available?": {
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": "$.snapshot_info.status",
                    "StringEquals": "available",
                    "Next": "Restore",
                },
            ],
            "Default": "Wait for snapshot",
        },
        **_poll_loop("snapshot", "Snapshot ready?", "Restore"),
        "Restore": _task("backup_restore", "$.restore", "Reset wait"),
        "Reset wait": _reset_wait("Wait for instance"),
        **_poll_loop("instance", "Instance available?", "Run checks"),
        "Run checks": _task("backup_checks", "$.checks", FINISH),
        FINISH: {
            "Type": "Parallel",
            "Branches": [
                _branch("backup_cleanup", "Delete temporary instance"),
                _branch("backup_notify", "Notify Slack"),
            ],
            "ResultSelector": {"cleanup.$": "$[0]", "notify.$": "$[1]"},
            "ResultPath": "$.finish",
            "Next": "Verdict",
        },
        "Verdict": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.error", "IsPresent": True, "Next": "Failed"},
                {
                    "Variable": "$.finish.cleanup.failed",
                    "BooleanEquals": True,
                    "Next": "Cleanup failed",
                },
                {
                    "Variable": "$.finish.notify.failed",
                    "BooleanEquals": True,
                    "Next": "Notification failed",
                },
            ],
            "Default": "Verified",
        },
        "Failed": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"},
        "Cleanup failed": {
            "Type": "Fail",
            "ErrorPath": "$.finish.cleanup.error",
            "CausePath": "$.finish.cleanup.cause",
        },
        "Notification failed": {
            "Type": "Fail",
            "ErrorPath": "$.finish.notify.error",
            "CausePath": "$.finish.notify.cause",
        },
        "Verified": {"Type": "Succeed"},
    }
    return {
        "Comment": (
            "Backup verification: restore a snapshot into a temporary instance, check the data, "
            "write the report, then always delete the instance and notify Slack."
        ),
        "StartAt": "Prepare",
        "States": states,
    }


#: Placeholder of the restore machine's ARN in a PARENT machine (the deploy machine).
RESTORE_MACHINE_PLACEHOLDER = "RestoreStateMachineArn"


def nested_verification(next_state: str, failed_state: str) -> dict[str, Any]:
    """States a parent machine (the deploy machine) splices in to verify the backups right after
    deploying: skipped when ``$.event.skip_backup_check`` is true; otherwise a nested execution
    (``states:startExecution.sync:2``) with only the stack prefix -- the restore machine reads
    the instance and the report bucket from the stacks' outputs and takes a fresh snapshot.
    A failed verification goes to ``failed_state`` with the child's error in ``$.error``."""
    return {
        "Verify backups?": {
            "Type": "Choice",
            "Choices": [
                {
                    "And": [
                        {"Variable": "$.event.skip_backup_check", "IsPresent": True},
                        {"Variable": "$.event.skip_backup_check", "BooleanEquals": True},
                    ],
                    "Next": next_state,
                }
            ],
            "Default": "Verify backups",
        },
        "Verify backups": {
            "Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": {
                "StateMachineArn": f"${{{RESTORE_MACHINE_PLACEHOLDER}}}",
                "Input": {
                    "stack_prefix.$": "$.event.stack_prefix",
                    "region_name.$": "$.event.region_name",
                    "workshop.$": "$.event.workshop",
                    "poll_seconds.$": "$.event.poll_seconds",
                    "snapshot": "new",
                    "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id",
                },
            },
            "ResultSelector": {"status.$": "$.Status", "execution.$": "$.ExecutionArn"},
            "ResultPath": "$.backup_check",
            "Retry": [
                {
                    "ErrorEquals": [
                        "StepFunctions.ExecutionLimitExceeded",
                        "StepFunctions.AWSStepFunctionsException",
                        "StepFunctions.SdkClientException",
                    ],
                    "IntervalSeconds": 2,
                    "MaxAttempts": 3,
                    "BackoffRate": 2.0,
                }
            ],
            "Catch": [
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": failed_state}
            ],
            "Next": next_state,
        },
    }
