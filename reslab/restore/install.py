"""Install the restore machine: one least-privilege role per Lambda, the Lambdas, the state
machine, and optionally an EventBridge Scheduler schedule that starts it regularly.

Same code for AWS and the local cloud (only the client factory differs), like
``reslab.installer`` -- which can call :func:`install_restore` beside the deploy machines.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reslab import asl, packaging
from reslab.ensure import ensure_function, ensure_role, ensure_state_machine, invoke_policy
from reslab.restore import machine
from reslab.restore.event import refuse_plaintext
from reslab.restore.steps import TEMP_TAG, TEST_HOOK_ENV

ClientFactory = Callable[[str, str], Any]
CodeFactory = Callable[[Any], bytes]

_LOGS = {
    "Effect": "Allow",
    "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
    "Resource": "*",
}
_SECRETS = ["secretsmanager:GetSecretValue", "ssm:GetParameter", "kms:Decrypt"]
#: What each function's boto3 calls need (Resource "*" unless a statement below narrows it).
FUNCTION_ACTIONS: Mapping[str, tuple[str, ...]] = {
    "backup_prepare": (
        "rds:DescribeDBInstances",
        "secretsmanager:DescribeSecret",
        "ssm:DescribeParameters",
        "cloudformation:DescribeStacks",
    ),
    "backup_snapshot": (
        "rds:DescribeDBInstances",
        "rds:DescribeDBSnapshots",
        "rds:CreateDBSnapshot",
        "rds:AddTagsToResource",
        *_SECRETS,
    ),
    "backup_restore": (
        "rds:RestoreDBInstanceFromDBSnapshot",
        "rds:AddTagsToResource",
        "rds:DescribeDBSnapshots",
        # ManageMasterUserPassword on the copy: RDS creates its secret as the caller
        "secretsmanager:CreateSecret",
        "secretsmanager:TagResource",
        "kms:DescribeKey",
    ),
    "backup_poll": ("rds:DescribeDBInstances", "rds:DescribeDBSnapshots"),
    "backup_checks": _SECRETS,
    "backup_cleanup": ("rds:DescribeDBInstances",),
    "backup_notify": (),
}
#: SecureString reads decrypt with the parameter's key, through SSM only.
SSM_DECRYPT = {
    "Effect": "Allow",
    "Action": "kms:Decrypt",
    "Resource": "*",
    "Condition": {"StringLike": {"kms:ViaService": "ssm.*.amazonaws.com"}},
}
#: The checks Lambda reads expectations and writes reports in the report bucket.
REPORT_ACTIONS = ("s3:ListBucket", "s3:GetObject", "s3:PutObject")
#: Deleting is allowed only on what the workflow itself tagged temporary.
TEMPORARY_ONLY = {
    "Effect": "Allow",
    "Action": ["rds:DeleteDBInstance", "rds:DeleteDBSnapshot"],
    "Resource": "*",
    "Condition": {"StringEquals": {f"aws:ResourceTag/{TEMP_TAG}": "true"}},
}
#: The checks and snapshot Lambdas connect to databases: on AWS they need the lab's VPC.
VPC_FUNCTIONS = ("backup_snapshot", "backup_checks")
TIMEOUTS = {"backup_checks": 900, "backup_snapshot": 900}


@dataclass
class RestoreInstallation:
    name: str
    region: str
    functions: dict[str, str] = field(default_factory=dict)
    machine_arn: str = ""
    schedule: str | None = None


def function_statements(
    function: str, report_buckets: Any = "*", slack_parameters: Any = "*"
) -> list[dict[str, Any]]:
    """What ``function`` may do beyond writing its logs (shared with the installer stack, which
    narrows the report buckets and the Slack webhook parameter to its own)."""
    statements: list[dict[str, Any]] = []
    if FUNCTION_ACTIONS[function]:
        statements.append(
            {"Effect": "Allow", "Action": list(FUNCTION_ACTIONS[function]), "Resource": "*"}
        )
    if function == "backup_notify":
        statements += [
            {"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": slack_parameters},
            SSM_DECRYPT,
        ]
    if function == "backup_checks":
        statements.append(
            {"Effect": "Allow", "Action": list(REPORT_ACTIONS), "Resource": report_buckets}
        )
    if function == "backup_cleanup":
        statements.append(TEMPORARY_ONLY)
    if function in VPC_FUNCTIONS:
        statements.append(
            {
                "Effect": "Allow",
                "Action": [
                    "ec2:CreateNetworkInterface",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DeleteNetworkInterface",
                ],
                "Resource": "*",
            }
        )
    return statements


def function_policy(function: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [_LOGS, *function_statements(function)]}


def install_restore(
    clients: ClientFactory,
    name: str,
    region: str,
    workshop: str,
    *,
    lambda_env: Mapping[str, str] | None = None,
    allow_test_hooks: bool = False,
    vpc_config: Mapping[str, list[str]] | None = None,
    schedule: str | None = None,
    schedule_input: Mapping[str, Any] | None = None,
    code: CodeFactory = packaging.lambda_zip,
) -> RestoreInstallation:
    """Create or update everything; ``schedule`` is an EventBridge Scheduler expression such as
    ``cron(0 3 * * ? *)`` and ``schedule_input`` the event it starts the machine with."""
    iam, lam = clients("iam", region), clients("lambda", region)
    env = dict(lambda_env or {})
    if allow_test_hooks:
        env[TEST_HOOK_ENV] = "1"
    result = RestoreInstallation(name=name, region=region)
    for function in machine.FUNCTIONS:
        role = ensure_role(
            iam, f"{name}-{function}", "lambda.amazonaws.com", function_policy(function), workshop
        )
        arn = ensure_function(
            lam, f"{name}-{function}", role, code(packaging.LAMBDAS_DIR / function), workshop, env
        )
        config: dict[str, Any] = {"Timeout": TIMEOUTS.get(function, 120)}
        if vpc_config and function in VPC_FUNCTIONS:
            config["VpcConfig"] = {
                "SubnetIds": list(vpc_config["SubnetIds"]),
                "SecurityGroupIds": list(vpc_config["SecurityGroupIds"]),
            }
        lam.update_function_configuration(FunctionName=f"{name}-{function}", **config)
        result.functions[function] = arn
    invoke = invoke_policy(result.functions.values())
    sfn_role = ensure_role(iam, f"{name}-restore-states", "states.amazonaws.com", invoke, workshop)
    substitutions = {machine.FUNCTIONS[f]: arn for f, arn in result.functions.items()}
    definition = asl.render(machine.PATH.read_text(), substitutions)
    result.machine_arn = ensure_state_machine(
        clients("stepfunctions", region), f"{name}-restore", definition, sfn_role, workshop
    )
    if schedule:
        result.schedule = ensure_schedule(
            clients, name, region, workshop, result.machine_arn, schedule, schedule_input or {}
        )
    return result


def ensure_schedule(
    clients: ClientFactory,
    name: str,
    region: str,
    workshop: str,
    machine_arn: str,
    expression: str,
    event: Mapping[str, Any],
) -> str:
    """An EventBridge Scheduler schedule that starts the restore machine with ``event``."""
    refuse_plaintext(event)  # the schedule's input is stored and shown in clear
    start = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "states:StartExecution", "Resource": machine_arn}
        ],
    }
    role = ensure_role(
        clients("iam", region),
        f"{name}-restore-schedule",
        "scheduler.amazonaws.com",
        start,
        workshop,
    )
    scheduler = clients("scheduler", region)
    group = ensure_schedule_group(scheduler, name, workshop)
    spec = {
        "Name": f"{name}-verify-backup",
        "GroupName": group,
        "ScheduleExpression": expression,
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {"Arn": machine_arn, "RoleArn": role, "Input": json.dumps(dict(event))},
        "Description": f"reslab backup verification ({workshop})",
        "State": "ENABLED",
    }
    try:
        scheduler.get_schedule(Name=spec["Name"], GroupName=group)
    except Exception as exc:
        if "ResourceNotFound" not in type(exc).__name__ and "ResourceNotFound" not in str(exc):
            raise
        return str(scheduler.create_schedule(**spec)["ScheduleArn"])
    return str(scheduler.update_schedule(**spec)["ScheduleArn"])


def ensure_schedule_group(scheduler: Any, name: str, workshop: str) -> str:
    """Schedules take no tags, so each install's schedules live in a group of their own that
    carries the workshop tag: ``reslab sweep`` finds the group and deleting it removes them."""
    try:
        scheduler.get_schedule_group(Name=name)
    except Exception as exc:
        if "ResourceNotFound" not in type(exc).__name__ and "ResourceNotFound" not in str(exc):
            raise
        scheduler.create_schedule_group(Name=name, Tags=[{"Key": "workshop", "Value": workshop}])
    return name
