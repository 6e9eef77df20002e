"""The event-driven handoff: a stack's completion reaches the execution waiting for it.

The deploy and teardown machines wait for a stack in an ``Await`` Task
(``lambda:invoke.waitForTaskToken``). Its function (``await_stack``) stores the task token in an
SSM parameter named after the stack (:func:`parameter_name`, tagged with the workshop), then
looks at the stack once: when there is nothing left to wait for (the stack finished before the
token was stored, or is not changing) it answers the token itself. Otherwise CloudFormation's
"CloudFormation Stack Status Change" event, delivered by an EventBridge rule to ``stack_event``,
answers it: the same handoff entry the poll produces (``cfn.status_of``), or ``StackFailed``.
A lost event is covered by the Task's timeout (event key ``await_seconds``): the machine then
checks the stack itself, as the poll did.

Both may answer the same token (the event arrives while ``await_stack`` looks): the second
answer is refused by Step Functions and ignored here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from reslab_lambda.aws import client, error_code
from reslab_lambda.cfn import CFN_IN_PROGRESS, status_of
from reslab_lambda.errors import LabError

#: Where the tokens are stored: ``/reslab/await/<stack name>/<region>`` (SSM, home region).
PARAMETER_ROOT = "/reslab/await/"
#: Set by the installer: the name of the rule delivering stack events, in every lab region.
RULE_ENV = "RESLAB_STACK_EVENT_RULE"
#: Set by the installer: the role a rule outside the home region forwards events with.
FORWARDER_ROLE_ENV = "RESLAB_EVENT_FORWARDER_ROLE_ARN"
#: Answers Step Functions gives a token that was answered already, or timed out.
_ANSWERED = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})
#: The stack statuses the rule delivers (each ends an operation).
FINAL_STATUSES = (
    "CREATE_COMPLETE",
    "CREATE_FAILED",
    "ROLLBACK_COMPLETE",
    "ROLLBACK_FAILED",
    "DELETE_COMPLETE",
    "DELETE_FAILED",
    "UPDATE_COMPLETE",
    "UPDATE_FAILED",
    "UPDATE_ROLLBACK_COMPLETE",
    "UPDATE_ROLLBACK_FAILED",
)
DETAIL_TYPE = "CloudFormation Stack Status Change"


def home_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def parameter_name(stack_name: str, region: str) -> str:
    return f"{PARAMETER_ROOT}{stack_name}/{region}"


def event_pattern(stack_arns: Any) -> dict[str, Any]:
    """The rule's pattern: final statuses of the lab's stacks (``stack_arns``: a wildcard,
    ``arn:<partition>:cloudformation:<region or *>:<account>:stack/<StackPrefix>*``)."""
    return {
        "source": ["aws.cloudformation"],
        "detail-type": [DETAIL_TYPE],
        "detail": {
            "stack-id": [{"wildcard": stack_arns}],
            "status-details": {"status": list(FINAL_STATUSES)},
        },
    }


def store_token(entry: Mapping[str, Any], task: Mapping[str, Any]) -> str:
    """Store the token (and what the event side needs to answer it); the parameter's name."""
    ssm = client("ssm", home_region())
    name = parameter_name(entry["stackname"], entry["region"])
    value = json.dumps(
        {
            "token": task["token"],
            "key": task["key"],
            "action": task["action"],
            "event": task["event"],
        },  # fmt: skip
        separators=(",", ":"),
    )
    put = {"Name": name, "Value": value, "Type": "String", "Tier": "Intelligent-Tiering"}
    try:
        ssm.put_parameter(**put, Tags=[{"Key": "workshop", "Value": task["event"]["workshop"]}])
    except ClientError as exc:
        if error_code(exc) != "ParameterAlreadyExists":
            raise
        ssm.put_parameter(**put, Overwrite=True)  # a re-await: the tag stays
    return name


def take_token(stack_name: str, region: str) -> dict[str, Any] | None:
    """The stored wait for the stack (removed from the store), None when nobody waits."""
    ssm = client("ssm", home_region())
    name = parameter_name(stack_name, region)
    try:
        value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except ClientError as exc:
        if error_code(exc) == "ParameterNotFound":
            return None
        raise
    forget(name)
    stored: dict[str, Any] = json.loads(value)
    return stored


def forget(name: str) -> None:
    try:
        client("ssm", home_region()).delete_parameter(Name=name)
    except ClientError as exc:
        if error_code(exc) != "ParameterNotFound":
            raise


def answer(token: str, key: str, event: Mapping[str, Any], action: str) -> dict[str, Any]:
    """Answer the token with the stack's handoff entry (or its StackFailed); what was sent."""
    sfn = client("stepfunctions", home_region())
    try:
        result = {"entry": status_of(key, event, action)}
    except LabError as exc:  # StackFailed, ReplicationFailed: the machine's named errors
        result = {"error": type(exc).__name__, "cause": str(exc)[:32_768]}
    try:
        if "entry" in result:
            sfn.send_task_success(taskToken=token, output=json.dumps(result["entry"]))
        else:
            sfn.send_task_failure(taskToken=token, error=result["error"], cause=result["cause"])
    except ClientError as exc:
        if error_code(exc) not in _ANSWERED:
            raise
        result["answered_already"] = error_code(exc)
    return result


def waits_for_event(status: str) -> bool:
    """Whether CloudFormation will send an event when the stack leaves ``status``."""
    return status in CFN_IN_PROGRESS


def ensure_rule(region: str, stack_prefix: str, workshop: str) -> None:
    """Outside the home region, the rule forwarding the lab's stack events to the home
    region's default bus (the installer stack made the home region's rule). Idempotent."""
    rule, role = os.environ.get(RULE_ENV), os.environ.get(FORWARDER_ROLE_ENV)
    home = home_region()
    if region == home or not rule or not role:
        return
    account, partition = role.split(":")[4], role.split(":")[1]
    events = client("events", region)
    stacks = f"arn:{partition}:cloudformation:{region}:{account}:stack/{stack_prefix}*"
    events.put_rule(
        Name=rule,
        EventPattern=json.dumps(event_pattern(stacks)),
        State="ENABLED",
        Description="reslab: the lab's stack completions, forwarded to the deploy's region",
        Tags=[{"Key": "workshop", "Value": workshop}],
    )
    events.put_targets(
        Rule=rule,
        Targets=[
            {
                "Id": "home-bus",
                "Arn": f"arn:{partition}:events:{home}:{account}:event-bus/default",
                "RoleArn": role,
            }
        ],
    )


def stack_of(detail: Mapping[str, Any]) -> tuple[str, str]:
    """(stack name, region) of a stack event's detail (its ``stack-id`` ARN: a forwarded
    event's own region is the bus's, not the stack's)."""
    arn = str(detail["stack-id"])
    return arn.split("/")[1], arn.split(":")[3]
