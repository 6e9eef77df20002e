"""The request-context table: complete for the code's calls, true to IAM's database, and building
the ARNs and condition keys AWS would evaluate."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest

from reslab.iam import context, operations
from reslab.iam.context import Environment, build, build_operation
from reslab.iam.evaluate import Principal
from reslab.iam.iamdb import action_info, exists, service_model
from reslab.iam.operations import OPERATIONS, TASK_INTEGRATIONS, UNMODELLED, Authorization
from reslab.iam.scan import scan_repository
from reslab.iam.sources import WHOLE_ARN, Derived, Fixed, Lookup, Param, Source
from reslab.iam.state import RESOLVERS, Where

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
ENV = Environment(Where(ACCOUNT, "us-east-2"))
CALLER = Principal.session(f"arn:aws:iam::{ACCOUNT}:role/lab-CreateStackRole", "fn")


@pytest.fixture(scope="module")
def scanned() -> Any:
    return scan_repository(ROOT)


def test_every_call_the_code_makes_has_a_row(scanned: Any) -> None:
    rows = operations.operations_by_key()
    missing = sorted(
        f"{c.service}.{c.operation} ({w[0]})"
        for c, w in scanned.calls.items()
        if (c.service, c.operation) not in rows
    )
    assert not missing, f"add rows to reslab/iam/operations.py for: {missing}"
    assert not scanned.unresolved, (
        f"calls on clients the scanner cannot attribute to a service: {scanned.unresolved}"
    )


def test_the_scan_sees_the_lab(scanned: Any) -> None:
    """Guards the scanner itself: calls known to exist are found (one per area)."""
    seen = {(c.service, c.operation) for c in scanned.calls}
    for known in [
        ("cloudformation", "CreateStack"),  # lambdas/shared (client(...) helper)
        ("rds", "RestoreDBInstanceFromDBSnapshot"),  # restore steps (aws.client(...).x())
        ("ec2", "ReplaceNetworkAclAssociation"),  # chaos plan rows Call("ec2", ...)
        ("stepfunctions", "ListStateMachines"),  # sweep's _pages(sfn, "list_state_machines")
        ("rds", "DescribeDBInstances"),  # waiter db_instance_available
        ("secretsmanager", "GetSecretValue"),  # webapp on the instances
        ("s3", "GetObject"),  # bootstrap.sh: aws s3 cp
        ("sts", "AssumeRole"),  # fleet
    ]:
        assert known in seen, known


def test_every_task_integration_of_the_state_machines_has_a_row(scanned: Any) -> None:
    for task in scanned.tasks:
        authorizations, _ = operations.task_authorizations(task.integration)
        assert authorizations, (
            f"no row for Task resource {task.integration} ({scanned.tasks[task]})"
        )


def _authorizations() -> list[tuple[str, Authorization]]:
    out = [(f"{r.service}.{r.operation}", a) for r in OPERATIONS for a in r.authorizations]
    out += [(f"task {k}", a) for k, auths in TASK_INTEGRATIONS.items() for a in auths]
    out += [("lambda runtime", a) for a in operations.LAMBDA_RUNTIME]
    return out


@pytest.mark.parametrize(("where", "auth"), _authorizations(), ids=lambda x: str(x)[:60])
def test_rows_agree_with_iam_database(where: str, auth: Authorization) -> None:
    assert exists(auth.action), f"{where}: {auth.action} is not an IAM action"
    info = action_info(auth.action)
    assert info.action == auth.action, f"{where}: IAM spells it {info.action}"
    for resource_type in auth.resources:
        if resource_type != WHOLE_ARN:
            info.resource_type(resource_type)  # raises for a type the action does not have
    keys = {k.lower() for k in info.condition_keys}
    keys |= {k.lower() for rt in info.resource_types for k in rt.condition_keys}
    for key in auth.context:
        templated = {k.split("${")[0] for k in keys if "${" in k}
        assert key.lower() in keys or any(key.lower().startswith(t) for t in templated), (
            f"{where}: {key} is not a condition key of {auth.action}"
        )


@pytest.mark.parametrize(("where", "auth"), _authorizations(), ids=lambda x: str(x)[:60])
def test_required_resource_types_are_bound_or_listed(where: str, auth: Authorization) -> None:
    if WHOLE_ARN in auth.resources:
        return
    bound = set(auth.resources) | set(UNMODELLED.get(auth.action, ()))
    required = set(action_info(auth.action).required_types)
    assert required <= bound, f"{where}: {sorted(required - bound)} not bound"


def _sources(auth: Authorization) -> list[Source]:
    found: list[Source] = [*auth.context.values()]
    if auth.when is not None:
        found.append(auth.when)
    for binding in auth.resources.values():
        found += list(binding.values()) if isinstance(binding, dict) else [binding]
    for source in list(found):
        if isinstance(source, Param) and isinstance(source.default, Lookup):
            found.append(source.default)
    return found


def _root(path: str) -> str:
    return path.split(".")[0].split("[")[0]


@functools.cache
def _input_members(service: str, operation: str) -> frozenset[str]:
    return frozenset(service_model(service).operation_model(operation).input_shape.members)


@pytest.mark.parametrize("row", OPERATIONS, ids=lambda r: f"{r.service}.{r.operation}")
def test_parameters_and_resolvers_exist(row: operations.Operation) -> None:
    members = _input_members(row.service, row.operation)
    for auth in row.authorizations:
        tags_and_sources: list[Any] = [*_sources(auth)] + ([Param(auth.tags)] if auth.tags else [])
        for source in tags_and_sources:
            paths = (
                [source.path]
                if isinstance(source, Param | Lookup)
                else list(source.paths)
                if isinstance(source, Derived)
                else []
            )
            for path in paths:
                assert _root(path) in members, f"{row.key}: no parameter {path}"
            if isinstance(source, Lookup):
                assert source.resolver in RESOLVERS
            if isinstance(source, Derived):
                assert source.function in context.DERIVERS
            if isinstance(source, Fixed):
                assert source.value


# --- building -------------------------------------------------------------------------------------
def built(service: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str, dict]]:
    return [
        (b.request.action, b.request.resource, dict(b.request.context))
        for b in build_operation(service, operation, params, CALLER, ENV)
    ]


def test_create_stack() -> None:
    got = built(
        "cloudformation",
        "CreateStack",
        {
            "StackName": "lab-VPC",
            "TemplateURL": "https://tb.s3.us-east-1.amazonaws.com/cloudformation/vpc.yaml",
            "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/lab-CloudFormationRole",
            "Tags": [{"Key": "workshop", "Value": "w1"}],
        },
    )
    assert [(a, r) for a, r, _ in got] == [
        (
            "cloudformation:CreateStack",
            f"arn:aws:cloudformation:us-east-2:{ACCOUNT}:stack/lab-VPC/*",
        ),
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/lab-CloudFormationRole"),
        ("s3:GetObject", "arn:aws:s3:::tb/cloudformation/vpc.yaml"),
    ]
    create, pass_role, _ = (c for _, _, c in got)
    assert create["aws:requesttag/workshop"] == ("w1",)
    assert create["aws:tagkeys"] == ("workshop",)
    assert create["cloudformation:rolearn"] == (
        f"arn:aws:iam::{ACCOUNT}:role/lab-CloudFormationRole",
    )
    assert create["aws:principalarn"] == (CALLER.role_arn,)
    assert create["aws:securetransport"] == ("true",)
    assert pass_role["iam:passedtoservice"] == ("cloudformation.amazonaws.com",)


def test_without_role_no_pass_role() -> None:
    got = built("cloudformation", "DeleteStack", {"StackName": "lab-VPC"})
    assert [a for a, _, _ in got] == ["cloudformation:DeleteStack"]


def test_one_authorization_per_resource() -> None:
    got = built("ec2", "TerminateInstances", {"InstanceIds": ["i-1", "i-2"]})
    assert [r for _, r, _ in got] == [
        f"arn:aws:ec2:us-east-2:{ACCOUNT}:instance/i-1",
        f"arn:aws:ec2:us-east-2:{ACCOUNT}:instance/i-2",
    ]
    objects = {
        "Bucket": "lab-site",
        "Delete": {"Objects": [{"Key": "a"}, {"Key": "b", "VersionId": "v2"}, {"Key": "c"}]},
    }
    assert [(a, r) for a, r, _ in built("s3", "DeleteObjects", objects)] == [
        ("s3:DeleteObject", "arn:aws:s3:::lab-site/a"),
        ("s3:DeleteObject", "arn:aws:s3:::lab-site/c"),
        ("s3:DeleteObjectVersion", "arn:aws:s3:::lab-site/b"),
    ]


def test_describe_without_identifier_names_every_resource_of_the_type() -> None:
    assert [r for _, r, _ in built("rds", "DescribeDBInstances", {})] == [
        f"arn:aws:rds:us-east-2:{ACCOUNT}:db:*"
    ]
    assert [r for _, r, _ in built("ec2", "DescribeVpcs", {})] == ["*"]
    assert [r for _, r, _ in built("rds", "DescribeDBSnapshots", {})] == ["*"]


@pytest.mark.parametrize(
    ("name", "qualifier", "arn"),
    [
        ("fn", None, f"arn:aws:lambda:us-east-2:{ACCOUNT}:function:fn"),
        ("fn:live", None, f"arn:aws:lambda:us-east-2:{ACCOUNT}:function:fn:live"),
        ("fn", "3", f"arn:aws:lambda:us-east-2:{ACCOUNT}:function:fn:3"),
        (f"{ACCOUNT}:function:fn", None, f"arn:aws:lambda:us-east-2:{ACCOUNT}:function:fn"),
        (
            "arn:aws:lambda:eu-west-1:111122223333:function:fn",
            None,
            "arn:aws:lambda:eu-west-1:111122223333:function:fn",
        ),
    ],
)
def test_function_names(name: str, qualifier: str | None, arn: str) -> None:
    params: dict[str, Any] = {
        "FunctionName": name,
        **({"Qualifier": qualifier} if qualifier else {}),
    }
    assert [(a, r) for a, r, _ in built("lambda", "Invoke", params)] == [
        ("lambda:InvokeFunction", arn)
    ]


def test_state_machine_sync_task() -> None:
    machine = f"arn:aws:states:us-east-2:{ACCOUNT}:stateMachine:lab-restore"
    auths, _ = operations.task_authorizations("states:startExecution.sync:2")
    got = [
        (b.request.action, b.request.resource)
        for b in build(auths, {"StateMachineArn": machine}, CALLER, ENV)
    ]
    rule = f"arn:aws:events:us-east-2:{ACCOUNT}:rule/{operations.SFN_SYNC_RULE}"
    assert got == [
        ("states:StartExecution", machine),
        ("states:DescribeExecution", f"arn:aws:states:us-east-2:{ACCOUNT}:execution:lab-restore:*"),
        ("states:StopExecution", f"arn:aws:states:us-east-2:{ACCOUNT}:execution:lab-restore:*"),
        ("events:PutTargets", rule),
        ("events:PutRule", rule),
        ("events:DescribeRule", rule),
    ]


def test_aws_sdk_integration_uses_the_api_row() -> None:
    auths, row = operations.task_authorizations("aws-sdk:rds:describeDBInstances")
    assert row is not None and row.key == ("rds", "DescribeDBInstances")
    got = build(auths, {"DBInstanceIdentifier": "lab-db"}, CALLER, ENV)
    assert [b.request.resource for b in got] == [f"arn:aws:rds:us-east-2:{ACCOUNT}:db:lab-db"]


def test_tags_in_every_shape() -> None:
    assert context.request_tags({"Tags": {"a": "1"}}, "Tags") == {"a": "1"}
    assert context.request_tags({"tags": [{"key": "a", "value": "1"}]}, "tags") == {"a": "1"}
    spec = {
        "TagSpecifications": [{"ResourceType": "network-acl", "Tags": [{"Key": "a", "Value": "1"}]}]
    }
    assert context.request_tags(spec, "TagSpecifications") == {"a": "1"}
    got = built(
        "rds",
        "CreateDBSnapshot",
        {
            "DBInstanceIdentifier": "db",
            "DBSnapshotIdentifier": "s",
            "Tags": [{"Key": "k", "Value": "v"}],
        },
    )
    create = got[0][2]
    assert create["aws:requesttag/k"] == ("v",) and create["rds:req-tag/k"] == ("v",)
    assert [a for a, _, _ in got] == [
        "rds:CreateDBSnapshot",
        "rds:CreateDBSnapshot",
        "rds:AddTagsToResource",
    ]


def test_flags_set_to_false_add_nothing() -> None:
    base = {"DBInstanceIdentifier": "t", "DBSnapshotIdentifier": "s"}
    without = {
        a
        for a, _, _ in built(
            "rds", "RestoreDBInstanceFromDBSnapshot", {**base, "ManageMasterUserPassword": False}
        )
    }
    with_secret = {
        a
        for a, _, _ in built(
            "rds", "RestoreDBInstanceFromDBSnapshot", {**base, "ManageMasterUserPassword": True}
        )
    }
    assert "secretsmanager:CreateSecret" not in without
    assert {"secretsmanager:CreateSecret", "secretsmanager:TagResource"} <= with_secret
