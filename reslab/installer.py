"""Install the lab's machinery: buckets' content, IAM roles, Lambdas and the two state machines.

Everything is named ``<install name>-...`` (two labs side by side) and tagged ``workshop``. The
same code talks to the local cloud and to AWS; only the client factory differs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from reslab import asl, packaging
from reslab_lambda.cfn import CFN_ROLE_ENV
from reslab_lambda.stacks import stack_table

ClientFactory = Callable[[str, str], Any]

RUNTIME = "python3.12"
HANDLER = "lambda_function.lambda_handler"
LAMBDA_TIMEOUT_SECONDS = 60
LAMBDA_MEMORY_MB = 256
WEBAPP_OBJECT = "webapp.tar.gz"
_LOGS = {
    "Effect": "Allow",
    "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
    "Resource": "*",
}
_STACKS_READ = ("cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents")
_EMPTY_BUCKET = (
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
)
#: Least privilege: per function, (actions, resource kind) statements beyond writing its logs.
#: Resource kinds are resolved by :func:`_resources`.
POLICIES: Mapping[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    "validate_event": (),
    "create_stack": (
        (
            (
                *_STACKS_READ,
                "cloudformation:CreateStack",
                "cloudformation:DeleteStack",
                "cloudformation:TagResource",
            ),
            "stacks",
        ),
        (("cloudformation:GetTemplateSummary",), "any"),
        (("s3:GetObject",), "templates"),
        (("iam:PassRole",), "cfn-role"),
    ),
    "stack_status": ((_STACKS_READ, "stacks"),),
    "delete_stack": (
        (
            (*_STACKS_READ, "cloudformation:DeleteStack", "cloudformation:ListStackResources"),
            "stacks",
        ),
        (_EMPTY_BUCKET, "lab-buckets"),
        (("iam:PassRole",), "cfn-role"),
    ),
}


_NEW_ROLE_CODES = ("InvalidParameterValueException", "AccessDeniedException")
#: The CloudFormation service role: what the templates create (the Lambdas only pass this role).
CFN_SERVICE_ACTIONS = (
    "autoscaling:*",
    "cloudwatch:*",
    "ec2:*",
    "elasticloadbalancing:*",
    "iam:*InstanceProfile*",
    "iam:*Role*",
    "iam:PassRole",
    "kms:*",
    "logs:*",
    "rds:*",
    "s3:*",
    "secretsmanager:*",
    "ssm:GetParameter*",
    "sns:*",
)


@dataclass
class Installation:
    """What :func:`install` created (ARNs the CLI and tests use)."""

    name: str
    region: str
    functions: dict[str, str] = field(default_factory=dict)
    machines: dict[str, str] = field(default_factory=dict)


def _tags_list(workshop: str) -> list[dict[str, str]]:
    return [{"Key": "workshop", "Value": workshop}]


def ensure_bucket(s3: Any, bucket: str, region: str, workshop: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
            raise
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**kwargs)
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": _tags_list(workshop)})


def upload_templates(s3: Any, event: Mapping[str, Any]) -> list[str]:
    """Put every template at ``s3://cfn_bucket/folder<file>``; returns the keys."""
    keys = []
    for spec in stack_table():
        key = f"{event['folder']}{spec.template_file}"
        body = (packaging.REPO_ROOT / spec.template_path).read_bytes()
        s3.put_object(Bucket=event["cfn_bucket"], Key=key, Body=body)
        keys.append(key)
    return keys


def upload_boot(s3: Any, event: Mapping[str, Any]) -> list[str]:
    """The bootstrap script (as boot_object) and the web-app tarball under boot_prefix."""
    keys = []
    prefix, bucket = event["boot_prefix"], event["boot_bucket"]
    if packaging.BOOTSTRAP.exists() and event.get("boot_object"):
        key = f"{prefix}{event['boot_object']}"
        s3.put_object(Bucket=bucket, Key=key, Body=packaging.BOOTSTRAP.read_bytes())
        keys.append(key)
    if packaging.WEBAPP_DIR.is_dir():
        key = f"{prefix}{WEBAPP_OBJECT}"
        s3.put_object(Bucket=bucket, Key=key, Body=packaging.webapp_tarball())
        keys.append(key)
    return keys


def _resources(kind: str, name: str, event: Mapping[str, Any], account: str) -> list[str]:
    prefix = event["stack_prefix"]
    lab_buckets = f"arn:aws:s3:::{prefix.lower()}*"  # bucket names derive from stack names
    return {
        "any": ["*"],
        "stacks": [f"arn:aws:cloudformation:*:{account}:stack/{prefix}*/*"],
        "templates": [f"arn:aws:s3:::{event['cfn_bucket']}/{event['folder']}*"],
        "lab-buckets": [lab_buckets, f"{lab_buckets}/*"],
        "cfn-role": [f"arn:aws:iam::{account}:role/{name}-cloudformation"],
    }[kind]


def function_policy(
    function: str, name: str, event: Mapping[str, Any], account: str
) -> dict[str, Any]:
    """The inline policy of ``function``'s role in install ``name``."""
    statements: list[dict[str, Any]] = [_LOGS]
    statements += [
        {
            "Effect": "Allow",
            "Action": list(actions),
            "Resource": _resources(kind, name, event, account),
        }
        for actions, kind in POLICIES[function]
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def _trust(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def ensure_role(iam: Any, name: str, service: str, policy: Mapping[str, Any], workshop: str) -> str:
    try:
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchEntity":
            raise
        arn = iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=_trust(service), Tags=_tags_list(workshop)
        )["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName=name, PolicyDocument=json.dumps(policy))
    return str(arn)


def _retry_new_role(call: Callable[[], Any], attempts: int = 10) -> Any:
    """IAM is eventually consistent on AWS: a brand-new role cannot be assumed for a few seconds."""
    for attempt in range(attempts):
        try:
            return call()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            new_role = code in _NEW_ROLE_CODES and "role" in str(exc).lower()
            if not new_role or attempt == attempts - 1:
                raise
            time.sleep(2 + attempt)
    raise AssertionError("unreachable")


def ensure_function(
    lam: Any, name: str, role_arn: str, code: bytes, workshop: str, env: Mapping[str, str]
) -> str:
    config = {
        "Role": role_arn,
        "Handler": HANDLER,
        "Runtime": RUNTIME,
        "Timeout": LAMBDA_TIMEOUT_SECONDS,
        "MemorySize": LAMBDA_MEMORY_MB,
        "Environment": {"Variables": dict(env)},
    }
    try:
        existing = lam.get_function(FunctionName=name)["Configuration"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        created = _retry_new_role(
            lambda: lam.create_function(
                FunctionName=name,
                Code={"ZipFile": code},
                Tags={"workshop": workshop},
                **config,
            )
        )
        return str(created["FunctionArn"])
    lam.update_function_code(FunctionName=name, ZipFile=code)
    _wait_function_updated(lam, name)
    lam.update_function_configuration(FunctionName=name, **config)
    _wait_function_updated(lam, name)
    return str(existing["FunctionArn"])


def _wait_function_updated(lam: Any, name: str) -> None:
    for _ in range(60):
        status = lam.get_function_configuration(FunctionName=name).get("LastUpdateStatus")
        if status in (None, "Successful", "Failed"):
            return
        time.sleep(1)


def ensure_state_machine(sfn: Any, name: str, definition: str, role_arn: str, workshop: str) -> str:
    for machine in _list_machines(sfn):
        if machine["name"] == name:
            arn = str(machine["stateMachineArn"])
            sfn.update_state_machine(stateMachineArn=arn, definition=definition, roleArn=role_arn)
            return arn
    created = _retry_new_role(
        lambda: sfn.create_state_machine(
            name=name,
            definition=definition,
            roleArn=role_arn,
            tags=[{"key": "workshop", "value": workshop}],
        )
    )
    return str(created["stateMachineArn"])


def _list_machines(sfn: Any) -> list[dict[str, Any]]:
    machines: list[dict[str, Any]] = []
    for page in sfn.get_paginator("list_state_machines").paginate():
        machines.extend(page["stateMachines"])
    return machines


def install(
    clients: ClientFactory, name: str, event: Mapping[str, Any], lambda_env: Mapping[str, str]
) -> Installation:
    """Upload templates and boot artifacts, then create or update roles, Lambdas and machines.

    ``event`` must be normalised (``reslab.event.validate_event``). Machines and Lambdas live in
    ``region_name``; templates go to ``cfn_bucket`` in ``cfn_region``.
    """
    region, workshop = event["region_name"], event["workshop"]
    cfn_s3 = clients("s3", event["cfn_region"])
    ensure_bucket(cfn_s3, event["cfn_bucket"], event["cfn_region"], workshop)
    upload_templates(cfn_s3, event)
    boot_s3 = clients("s3", region)
    ensure_bucket(boot_s3, event["boot_bucket"], region, workshop)
    upload_boot(boot_s3, event)

    iam, lam = clients("iam", region), clients("lambda", region)
    account = clients("sts", region).get_caller_identity()["Account"]
    result = Installation(name=name, region=region)
    cfn_policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": list(CFN_SERVICE_ACTIONS), "Resource": "*"}],
    }
    cfn_role = ensure_role(
        iam, f"{name}-cloudformation", "cloudformation.amazonaws.com", cfn_policy, workshop
    )
    lambda_env = {**lambda_env, CFN_ROLE_ENV: cfn_role}
    for function in asl.FUNCTIONS:  # the Lambdas the two machines call
        folder = packaging.LAMBDAS_DIR / function
        role = ensure_role(
            iam,
            f"{name}-{function}",
            "lambda.amazonaws.com",
            function_policy(function, name, event, account),
            workshop,
        )
        code = packaging.lambda_zip(folder)
        arn = ensure_function(lam, f"{name}-{function}", role, code, workshop, lambda_env)
        result.functions[function] = arn

    restore_arn = _install_restore_machine(clients, name, event, lambda_env)
    result.machines["restore"] = restore_arn
    invoke = invoke_policy(
        result.functions.values(), *nested_execution_statements(restore_arn, region, account)
    )
    sfn_role = ensure_role(iam, f"{name}-states", "states.amazonaws.com", invoke, workshop)
    substitutions = {asl.FUNCTIONS[f]: arn for f, arn in result.functions.items()}
    substitutions[asl.RESTORE_MACHINE_PLACEHOLDER] = restore_arn
    sfn = clients("stepfunctions", region)
    for machine in asl.MACHINES:
        definition = asl.render(asl.load(machine), substitutions)
        result.machines[machine] = ensure_state_machine(
            sfn, f"{name}-{machine}", definition, sfn_role, workshop
        )
    return result


def invoke_policy(function_arns: Iterable[str], *extra: Mapping[str, Any]) -> dict[str, Any]:
    """A state machine role's policy: invoke exactly these Lambdas (plus ``extra`` statements)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "lambda:InvokeFunction",
                "Resource": sorted(function_arns),
            },
            *extra,
        ],
    }


def is_local_endpoint(client: Any) -> bool:
    """True when a boto3 client talks to a loopback endpoint (the embedded local cloud)."""
    host = urlsplit(str(client.meta.endpoint_url)).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


#: When the installed schedule re-verifies the lab's latest automated snapshot (03:00 UTC daily).
BACKUP_SCHEDULE = "cron(0 3 * * ? *)"


def _install_restore_machine(
    clients: ClientFactory, name: str, event: Mapping[str, Any], lambda_env: Mapping[str, str]
) -> str:
    """The restore-integrity machine the deploy machine runs as its nested last step, and the
    EventBridge Scheduler schedule that runs it daily on the latest snapshot.

    Locally its Lambdas run on this venv, so their zips skip the Lambda-runtime wheels (and
    moto stores the schedule without ever firing it).
    """
    from reslab.restore.install import install_restore, local_code

    region, workshop = event["region_name"], event["workshop"]
    local = is_local_endpoint(clients("stepfunctions", region))
    installed = install_restore(
        clients,
        name,
        region,
        workshop,
        lambda_env={k: v for k, v in lambda_env.items() if k != CFN_ROLE_ENV},
        schedule=BACKUP_SCHEDULE,
        schedule_input={
            "stack_prefix": event["stack_prefix"],
            "region_name": region,
            "workshop": workshop,
            "snapshot": "latest",
        },
        **({"code": local_code} if local else {}),
    )
    return installed.machine_arn


def nested_execution_statements(
    machine_arn: str, region: str, account: str
) -> list[dict[str, Any]]:
    """What ``states:startExecution.sync:2`` needs: start and watch the child, and the managed
    EventBridge rule Step Functions uses to hear that it finished."""
    execution_arns = machine_arn.replace(":stateMachine:", ":execution:") + ":*"
    rule = (
        f"arn:aws:events:{region}:{account}:rule/"
        "StepFunctionsGetEventsForStepFunctionsExecutionRule"
    )
    return [
        {"Effect": "Allow", "Action": "states:StartExecution", "Resource": machine_arn},
        {
            "Effect": "Allow",
            "Action": ["states:DescribeExecution", "states:StopExecution"],
            "Resource": execution_arns,
        },
        {
            "Effect": "Allow",
            "Action": ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            "Resource": rule,
        },
    ]
