"""The backup-check Lambdas in the lab VPC (``check_vpc`` in the stack table).

The two functions that connect to the database (``backup_snapshot``, ``backup_checks``; the
installer's ``RESLAB_CHECK_FUNCTIONS``) are created by the installer stack, before any lab VPC
exists, outside any VPC. The database is private, so on AWS they could not reach it. Once the
VPC stack is complete the status handoff attaches them to its private subnets with its check
security group (which the database's group admits; the groups' HTTPS egress and the private
subnets' NAT routes reach the AWS APIs they call), and reports :data:`ATTACHING` until Lambda has
applied the change (``LastUpdateStatus``). The teardown detaches them before it deletes the VPC
stack (their network interfaces would hold its subnets and group).

Like the rest of the handoff these functions never sleep: they act, then return a status the
machine's wait loop keeps polling (neither complete nor failed).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from reslab_lambda.aws import client, error_code
from reslab_lambda.errors import StackFailed
from reslab_lambda.stacks import StackSpec

#: The installer sets it on the deploy Lambdas: the check functions' names, comma-separated.
CHECK_FUNCTIONS_ENV = "RESLAB_CHECK_FUNCTIONS"
#: Handoff status while Lambda attaches the check functions (the deploy keeps waiting).
ATTACHING = "CHECKS_ATTACHING_TO_VPC"
#: Handoff status while the teardown waits for them to leave the VPC (then, as after a stopped
#: replication task, ``replication.STOPPED`` sends the machine back to its delete step).
DETACHING = "CHECKS_DETACHING_FROM_VPC"


def check_functions() -> list[str]:
    return [n for n in os.environ.get(CHECK_FUNCTIONS_ENV, "").split(",") if n.strip()]


def wanted_config(spec: StackSpec, stack: Mapping[str, Any]) -> dict[str, list[str]]:
    """The ``VpcConfig`` the stack's outputs give the check functions."""
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    names = spec.check_vpc or {}
    subnets, group = outputs.get(names.get("subnets", "")), outputs.get(names.get("group", ""))
    if not subnets or not group:
        raise StackFailed(
            f"stack {stack['StackName']} ({spec.key}) has no outputs "
            f"{names.get('subnets')}/{names.get('group')} for the check Lambdas"
        )
    return {"SubnetIds": [s for s in subnets.split(",") if s], "SecurityGroupIds": [group]}


def _same(current: Mapping[str, Any], wanted: Mapping[str, list[str]]) -> bool:
    return all(sorted(current.get(k) or []) == sorted(v) for k, v in wanted.items())


def after_create(spec: StackSpec, region: str, stack: Mapping[str, Any]) -> str:
    """The stack's status once every check function runs in its private subnets; until then
    update them (once) and report :data:`ATTACHING`."""
    functions = check_functions()
    if not functions:  # outside an install (no check functions to attach)
        return str(stack["StackStatus"])
    wanted = wanted_config(spec, stack)
    lam = client("lambda", region)
    pending = False
    for name in functions:
        config = lam.get_function_configuration(FunctionName=name)
        if not _same(config.get("VpcConfig") or {}, wanted):
            try:
                lam.update_function_configuration(FunctionName=name, VpcConfig=wanted)
            except ClientError as exc:
                if error_code(exc) != "ResourceConflictException":  # another update runs
                    raise
            pending = True
        elif config.get("LastUpdateStatus") == "Failed":
            raise StackFailed(
                f"attaching {name} to the lab VPC failed: "
                f"{config.get('LastUpdateStatusReason') or 'no reason given'}"
            )
        elif config.get("LastUpdateStatus") == "InProgress" or config.get("State") == "Pending":
            pending = True
    return ATTACHING if pending else str(stack["StackStatus"])


def before_delete(spec: StackSpec, region: str, stack: Mapping[str, Any]) -> str | None:
    """Detach the check functions from the lab VPC before its stack is deleted: None once they
    are detached and no network interface is left in the check group (Lambda deletes them
    after the update, not at once; CloudFormation could not delete the group or the subnets
    meanwhile), else :data:`DETACHING`."""
    functions = check_functions()
    if not functions:
        return None
    lam = client("lambda", region)
    pending = False
    for name in functions:
        try:
            config = lam.get_function_configuration(FunctionName=name)
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                continue
            raise
        if (config.get("VpcConfig") or {}).get("SubnetIds"):
            try:
                lam.update_function_configuration(
                    FunctionName=name, VpcConfig={"SubnetIds": [], "SecurityGroupIds": []}
                )
            except ClientError as exc:
                if error_code(exc) != "ResourceConflictException":
                    raise
            pending = True
        elif config.get("LastUpdateStatus") == "InProgress":
            pending = True
    if pending:
        return DETACHING
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    group = outputs.get((spec.check_vpc or {}).get("group", ""))
    if group:
        interfaces = client("ec2", region).describe_network_interfaces(
            Filters=[{"Name": "group-id", "Values": [group]}]
        )["NetworkInterfaces"]
        if interfaces:
            return DETACHING
    return None
