"""Issue 11's proof that the lab's policies grant nothing in excess, from the access log.

One lifecycle run (``tests/iam/lifecycle.py``) with IAM enforced; then, for every statement of
every role of the lab (the installer's, the lab stacks'), its verdict from ``usage(...)``:
**needed** means some request of the run was allowed by that statement alone, so removing it
would have made that step fail with ``AccessDenied``. A statement the run cannot need is a row
of :data:`EXCEPTIONS` saying why; the test fails when a statement is redundant, or unused without
a row, and when a row is stale (its statement was used, or is gone).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from reslab.iam.accesslog import RoleUsage, StatementUsage, usage
from reslab.iam.policy import Policy
from tests.iam.lifecycle import Run, lifecycle

#: Why a statement may be unused in the run (``Exempt.kind``).
KINDS = {
    # a path only AWS takes: must stay unused here
    "aws": "only AWS takes this path",
    # acts as a principal the local cloud does not model yet: must stay unused here
    "unmodelled": "the local cloud does not act as this principal yet",
    # the DMS mode (event ``dms: true``) needs a local cloud whose RDS instances are private
    # MySQL servers; tests/dms runs it, this run cannot: must stay unused here
    "dms": "the DMS mode (tests/dms), not this run",
    # not the lab as its templates and the CLI make it: must stay unused here
    "not-this-lab": "a configuration the lifecycle's lab does not have",
    # which handoff Lambda answers a stack's completion is a matter of timing (``await_stack``
    # when the stack finished before its look, ``stack_event`` on the stack's event,
    # ``stack_status`` when the Await times out): needed or unused, never redundant
    "race": "timing decides which handoff Lambda needs it",
}
_HANDOFF_VPC = (
    "Lambda's check of a VpcConfig's subnets, groups and VPC when this Lambda attaches the "
    "check Lambdas to the lab VPC (the status handoff of the VPC stack's completion)"
)
_LAMBDA_ENI = (
    "the Lambda service manages a VPC function's network interfaces with its execution role; "
    "the local cloud runs functions on the host, without interfaces"
)
_DMS = "the DMS task and the target preparation of the DMS mode's status handoff"


@dataclass(frozen=True)
class Exempt:
    """A statement the lifecycle run may not need: the role (logical name), the statement's
    actions (None: every statement of the role; ``()``: every statement of the role matching
    ``hint`` and ``policy``), a text its JSON holds (to tell apart statements with the same
    actions), a text of its policy's name or ARN, the kind (:data:`KINDS`) and why."""

    role: str
    actions: tuple[str, ...] | None
    kind: str
    why: str
    hint: str = ""
    policy: str = ""

    def matches(self, role: str, actions: tuple[str, ...], text: str, policy: str) -> bool:
        if role != self.role or self.hint not in text or self.policy not in policy:
            return False
        return not self.actions or tuple(sorted(self.actions)) == actions


def _dms(role: str) -> tuple[Exempt, ...]:
    return (
        Exempt(role, ("dms:DescribeReplicationTasks",), "dms", _DMS),
        Exempt(role, ("dms:StartReplicationTask", "dms:StopReplicationTask"), "dms", _DMS),
        Exempt(role, ("lambda:InvokeFunction",), "dms", _DMS),
    )


_VPC_DESCRIBES = ("ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs")
EXCEPTIONS: tuple[Exempt, ...] = (
    Exempt(
        "Database/MonitoringRole",
        None,
        "aws",
        "RDS Enhanced Monitoring publishes the instance's OS metrics with it",
    ),
    Exempt(
        "BackupScheduleRole",
        None,
        "aws",
        "EventBridge Scheduler starts the nightly restore-integrity run with it; the local cloud "
        "runs no schedule",
    ),
    Exempt(
        "EventForwarderRole",
        None,
        "aws",
        "EventBridge delivers the secondary region's stack events to the home region's bus with "
        "it; the local cloud puts each stack event on its own region's bus only (gap 59)",
    ),
    Exempt(
        "DeployMachineRole",
        ("events:DescribeRule", "events:PutRule", "events:PutTargets"),
        "aws",
        "the managed rule of the nested `.sync` execution "
        "(StepFunctionsGetEventsForStepFunctionsExecutionRule): moto's interpreter polls",
    ),
    Exempt(
        "BackupPollRole",
        ("rds:DescribeDBSnapshots",),
        "aws",
        "polling a snapshot still `creating` (minutes on AWS); the local cloud's is available at "
        "once, so the restore machine never polls it",
    ),
    Exempt(
        "BackupRestoreRole",
        ("kms:DescribeKey",),
        "aws",
        "RDS describes the key of an encrypted snapshot with the caller's rights while restoring "
        "it; the local cloud does not model RDS's KMS calls",
    ),
    Exempt(
        "BackupNotifyRole",
        ("ssm:GetParameter",),
        "not-this-lab",
        "the installer's Slack parameter (SlackWebhookParameter); the lab is installed without "
        "one, and the statement then names parameter/reslab/<install>/*",
        hint="parameter/reslab/",
    ),
    *(
        Exempt(role, actions, "aws", _LAMBDA_ENI)
        for role in ("BackupChecksRole", "BackupSnapshotRole")
        for actions in (
            ("ec2:DescribeNetworkInterfaces",),
            ("ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"),
        )
    ),
    *(
        Exempt(role, _VPC_DESCRIBES, "race", _HANDOFF_VPC)
        for role in ("AwaitStackRole", "StackEventRole", "StackStatusRole")
    ),
    *(
        Exempt(
            role,
            ("ec2:DescribeNetworkInterfaces",),
            "race",
            "the teardown's wait until the check Lambdas' interfaces are gone, when this Lambda "
            "answers the VPC stack's check",
        )
        for role in ("StackEventRole", "StackStatusRole")
    ),
    *(
        row
        for role in (
            "CreateStackRole",
            "AwaitStackRole",
            "StackEventRole",
            "StackStatusRole",
        )
        for row in _dms(role)
    ),
    Exempt("DeleteStackRole", ("dms:DescribeReplicationTasks",), "dms", _DMS),
    Exempt("DeleteStackRole", ("dms:StopReplicationTask",), "dms", _DMS),
    Exempt(
        "Web/InstanceRole",
        (),
        "aws",
        "the AMI's SSM agent (Session Manager, Run Command) acts with it; the local cloud's "
        "instances run no agent",
        policy="policy/AmazonSSMManagedInstanceCore",
    ),
    # the CloudFormation role (it acts per resource since gap 71): what the run cannot need
    Exempt(
        "CloudFormationRole",
        (),
        "unmodelled",
        "the handlers' reads (Describe*, Get*, List*): the local cloud authorizes only the calls "
        "reslab.iam.cfn_handlers names (gap 42)",
        hint='"ec2:Describe*"',
    ),
    Exempt(
        "CloudFormationRole",
        (
            "ec2:CreateTags",
            "ec2:DeleteTags",
            "ec2:GetConsoleOutput",
            "ec2:GetConsoleScreenshot",
            "ec2:GetInstanceTpmEkPub",
            "ec2:GetInstanceUefiData",
            "ec2:GetLaunchTemplateData",
            "ec2:RunInstances",
        ),
        "unmodelled",
        "the handlers' calls on instances and their interfaces (Auto Scaling checks that the "
        "caller may ec2:RunInstances with the group's launch template): not in "
        "reslab.iam.cfn_handlers (gap 42)",
    ),
    Exempt(
        "CloudFormationRole",
        ("ssm:GetParameterHistory", "ssm:GetParameters", "ssm:GetResourcePolicies"),
        "unmodelled",
        "CloudFormation reads SSM parameters (web.yaml's AMI parameter, "
        "AWS::SSM::Parameter::Value) with these; the local cloud resolves them unauthorized",
    ),
    Exempt(
        "CloudFormationRole",
        ("secretsmanager:CreateSecret",),
        "dms",
        "the dms stack's secrets and database.yaml's DMS source secret, created with the "
        "workshop tag (another statement, needed, creates the lab's other secrets)",
    ),
    Exempt(
        "CloudFormationRole",
        ("iam:CreateServiceLinkedRole",),
        "aws",
        "AWS creates the Auto Scaling and RDS service-linked roles on their first use in an "
        "account; the local cloud has no service-linked roles (gap 42)",
    ),
    *(
        Exempt("CloudFormationRole", (), "dms", "the dms stack's " + what, hint=hint)
        for hint, what in (
            ('"dms:CreateReplicationTask"', "replication task"),
            ('"dms:DeleteReplicationSubnetGroup"', "replication subnet group"),
            ('"dms:DeleteReplicationTask"', "endpoints, instance and task"),
            ('"lambda:CreateFunction"', "target preparation function"),
            ('"logs:CreateLogGroup"', "preparation function's log group"),
            ('"secretsmanager:DeleteSecret"', "secrets (and database.yaml's DMS source secret)"),
        )
    ),
)


@pytest.fixture(scope="module")
def run(local_cloud: Any, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return lifecycle(local_cloud, tmp_path_factory.mktemp("lifecycle"))


def _whole_role(name: str) -> Exempt | None:
    return next((e for e in EXCEPTIONS if e.role == name and e.actions is None), None)


@pytest.fixture(scope="module")
def report(run: Run) -> list[RoleUsage]:
    """Usage of every role of the lab but those exempt as a whole (judged apart: they must
    make no request at all)."""
    grants = {
        arn: [Policy.parse(document, doc) for doc, document in run.documents[arn]]
        for arn, name in run.lab_roles().items()
        if _whole_role(name) is None
    }
    return usage(run.entries, grants)


def _statements(run: Run, role: RoleUsage) -> Iterator[tuple[StatementUsage, str]]:
    documents = dict(run.documents[role.role])
    for s in role.statements:
        raw = json.loads(documents[s.ref.policy])["Statement"]
        statement = raw[s.ref.index] if isinstance(raw, list) else raw
        yield s, json.dumps(statement, sort_keys=True)


def test_every_kind_of_lab_role_took_part(run: Run) -> None:
    names = set(run.lab_roles().values())
    expected = {
        "CloudFormationRole",
        "DeployMachineRole",
        "RestoreMachineRole",
        "CreateStackRole",
        "AwaitStackRole",
        "StackEventRole",
        "StackStatusRole",
        "BackupSnapshotRole",
        "BackupNotifyRole",
        "Web/InstanceRole",
        "Database/MonitoringRole",
    }
    assert expected <= names, expected - names


def test_no_lab_role_was_denied(run: Run) -> None:
    roles = run.lab_roles()
    denied = [
        f"{roles[e.role]}: {e.action} on {e.resource} ({e.operation})"
        for e in run.entries
        if e.role in roles and not e.allowed
    ]
    assert denied == []


def test_roles_exempt_as_a_whole_made_no_request(run: Run) -> None:
    roles = run.lab_roles()
    used = {roles[e.role] for e in run.entries if e.role in roles and _whole_role(roles[e.role])}
    assert used == set(), f"stale exceptions: these roles act in the local cloud now: {used}"


def test_every_statement_of_every_lab_role_is_needed(run: Run, report: list[RoleUsage]) -> None:
    names = run.lab_roles()
    problems, matched = [], set()
    for role in report:
        name = names[role.role]
        for s, text in _statements(run, role):
            actions = tuple(sorted(s.actions))
            rows = [e for e in EXCEPTIONS if e.matches(name, actions, text, s.ref.policy)]
            matched.update(rows)
            where = f"{name} {list(actions)} ({s.ref.policy} #{s.ref.index})"
            if s.verdict == "redundant":
                problems.append(f"redundant: {where} {text}")
            elif rows and s.verdict == "needed" and rows[0].kind != "race":
                problems.append(f"stale exception: {where} is needed now ({rows[0].why})")
            elif not rows and s.verdict == "unused":
                problems.append(f"unused: {where} {text}")
    whole = {e for e in EXCEPTIONS if e.actions is None}
    stale = [f"no such statement: {e}" for e in EXCEPTIONS if e not in matched | whole]
    assert problems + stale == []


def test_every_exception_says_why() -> None:
    assert all(e.kind in KINDS and len(e.why) > 30 for e in EXCEPTIONS)
    assert len(set(EXCEPTIONS)) == len(EXCEPTIONS)
