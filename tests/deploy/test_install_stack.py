"""The installer stack: generated template (fresh, least privilege, no fixed names), then real
installs in the local cloud (two side by side, idempotent re-install, new build = new code)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from reslab import execution, grants, packaging
from reslab.event import local_event, validate_event
from reslab.functions import FUNCTIONS, function
from reslab.iam.judges import sensitive_matches
from reslab.installer import template
from reslab.installer.install import install
from reslab.templates import load_template

TEMPLATE = load_template("installer.yaml")
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]


def test_checked_in_template_is_the_generated_one() -> None:
    assert template.main(["--check"]) == 0


def _statements(resource: str) -> list[dict[str, Any]]:
    """A role's statements: its inline policy's and those of the managed policies attached to
    it (``Roles``); a managed policy's own (``resource`` a managed policy)."""
    props = RESOURCES[resource]["Properties"]
    if RESOURCES[resource]["Type"] == "AWS::IAM::ManagedPolicy":
        return list(props["PolicyDocument"]["Statement"])
    found = [s for p in props.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
    for arn in props.get("ManagedPolicyArns", []):
        found += RESOURCES[arn["Ref"]]["Properties"]["PolicyDocument"]["Statement"]
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _scoped(folder: str) -> dict[str, set[str]]:
    """Action -> the resources (as JSON text) it is granted on, in ``folder``'s role."""
    found: dict[str, set[str]] = {}
    for statement in _statements(f"{function(folder).logical_id}Role"):
        for action in _as_list(statement["Action"]):
            found.setdefault(action, set()).update(
                json.dumps(r, sort_keys=True) for r in _as_list(statement["Resource"])
            )
    return found


def test_every_grant_and_environment_setting_of_the_catalogue_resolves() -> None:
    kinds = {grant.resource for fn in FUNCTIONS for grant in fn.policy}
    assert kinds <= set(template.RESOURCE_KINDS) | {"own-log-group"}
    assert set(grants.RESOURCE_KINDS) == set(template.RESOURCE_KINDS) | {"own-log-group"}
    settings = {kind for fn in FUNCTIONS for kind in fn.environment.values()}
    assert settings == set(template.ENVIRONMENT_VALUES)
    for fn in FUNCTIONS:  # what the catalogue says is what the template holds
        props = RESOURCES[f"{fn.logical_id}Function"]["Properties"]
        assert props["Timeout"] == fn.timeout, fn.folder
        assert ("VpcConfig" in props) == fn.vpc, fn.folder
        assert set(props["Environment"]["Variables"]) == {"LOG_LEVEL", *fn.environment}
        assert len(_statements(f"{fn.logical_id}Role")) == len(fn.policy), fn.folder


def test_no_service_wide_action_and_nothing_sensitive_on_every_resource() -> None:
    """No ``*`` or ``svc:*`` action; no credential, exfiltration or permissions-management
    action on ``Resource: "*"``; ``iam:PassRole`` only to a named service."""
    policies = [n for n, r in RESOURCES.items() if r["Type"].startswith("AWS::IAM::")]
    assert {"CloudFormationRole", "LabRoleBoundary", "BackupChecksRole"} <= set(policies)
    for name in policies:
        if RESOURCES[name]["Type"] not in ("AWS::IAM::Role", "AWS::IAM::ManagedPolicy"):
            continue
        for statement in _statements(name):
            assert statement["Effect"] == "Allow" and "NotAction" not in statement, name
            actions = _as_list(statement["Action"])
            assert not [a for a in actions if a == "*" or a.endswith(":*")], name
            if statement["Resource"] == "*":
                assert not [a for a in actions if sensitive_matches(a)], (name, actions)
            if "iam:PassRole" in actions:
                assert "iam:PassedToService" in statement["Condition"]["StringEquals"], name


def test_deploy_lambdas_touch_only_the_labs_stacks_templates_and_role() -> None:
    stacks = json.dumps(
        {
            "Fn::Sub": "arn:${AWS::Partition}:cloudformation:*:${AWS::AccountId}:stack/"
            "${StackPrefix}*/*"
        },
        sort_keys=True,
    )
    create = _scoped("create_stack")
    assert create["cloudformation:CreateStack"] == {stacks}
    assert create["cloudformation:GetTemplateSummary"] == {'"*"'}  # not resource-scopable
    assert create["iam:PassRole"] == {json.dumps({"Fn::GetAtt": ["CloudFormationRole", "Arn"]})}
    assert create["s3:GetObject"] == {  # the templates, and the installed version's manifest
        json.dumps({"Fn::Sub": "arn:${AWS::Partition}:s3:::${TemplateBucket}/${TemplateFolder}*"}),
        json.dumps(
            {
                "Fn::Sub": "arn:${AWS::Partition}:s3:::${ArtifactBucket}/"
                "${ArtifactPrefix}templates.json"
            }
        ),
    }
    assert create["iam:PassRole"] and "cloudformation:UpdateStack" not in create
    assert _scoped("stack_status")["cloudformation:DescribeStacks"] == {stacks}
    assert "cloudformation:CreateStack" not in _scoped("delete_stack")
    assert all("LabBucketPrefix" in r for r in _scoped("delete_stack")["s3:DeleteObject"])
    assert set(_scoped("validate_event")) == {"logs:CreateLogStream", "logs:PutLogEvents"}


def test_every_lambda_writes_only_its_own_log_group() -> None:
    for fn in FUNCTIONS:
        folder = fn.folder
        [logs] = _scoped(folder)["logs:PutLogEvents"]
        assert f"/aws/lambda/${{AWS::StackName}}-{folder}:*" in logs
        group = RESOURCES[f"{fn.logical_id}Logs"]["Properties"]
        assert group["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}-{folder}"}


def test_restore_cleanup_deletes_only_what_is_tagged_temporary() -> None:
    deletes = [
        s
        for s in _statements("BackupCleanupRole")
        if "rds:DeleteDBInstance" in _as_list(s["Action"])
    ]
    assert deletes and all(
        s["Condition"] == {"StringEquals": {"aws:ResourceTag/reslab:temporary": "true"}}
        for s in deletes
    )


def test_nothing_has_a_fixed_name_and_everything_taggable_is_tagged() -> None:
    for name, resource in RESOURCES.items():
        props = resource.get("Properties", {})
        assert "RoleName" not in props, name
        for key in ("FunctionName", "StateMachineName", "LogGroupName", "Name"):
            if key in props:
                assert "${AWS::StackName}" in json.dumps(props[key]), (name, key)
        if resource["Type"] in (
            "AWS::S3::BucketPolicy",
            "AWS::Scheduler::Schedule",
            "AWS::IAM::ManagedPolicy",
            "AWS::Lambda::Permission",
        ):
            continue  # no Tags property (the schedule's group carries the tag)
        tags = props["Tags"]
        assert (
            {"Key": "workshop", "Value": {"Ref": "Workshop"}} in tags
            if isinstance(tags, list)
            else tags == {"workshop": {"Ref": "Workshop"}}
        ), name


def test_report_bucket_is_private_encrypted_versioned_and_kept() -> None:
    bucket = RESOURCES["ReportBucket"]
    props = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    [rule] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"


# -- real installs in the local cloud ----------------------------------------------------------
@pytest.fixture
def event_for(cloud: Any) -> Iterator[Any]:
    def make(name: str) -> dict[str, Any]:
        return validate_event(
            local_event(name, {"stack_prefix": name.capitalize(), "workshop": f"inst {name}"})
        )

    yield make


def test_two_installs_live_side_by_side(cloud: Any, event_for: Any) -> None:
    first = install(cloud.client, "sidea", event_for("sidea"))
    second = install(cloud.client, "sideb", event_for("sideb"))
    assert set(first.machines) == set(second.machines) == {"deploy", "teardown", "restore"}
    assert not set(first.functions.values()) & set(second.functions.values())
    assert first.report_bucket != second.report_bucket
    cfn = cloud.client("cloudformation", "us-east-2")
    for name in ("sidea", "sideb"):
        [stack] = cfn.describe_stacks(StackName=name)["Stacks"]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        assert {"Key": "workshop", "Value": f"inst {name}"} in stack["Tags"]
    ssm = cloud.client("ssm", "us-east-2")
    named = ssm.get_parameter(Name="/reslab/sidea/deploy-machine")["Parameter"]["Value"]
    assert named == first.machines["deploy"]
    lam = cloud.client("lambda", "us-east-2")
    env = lam.get_function_configuration(FunctionName="sidea-backup_prepare")["Environment"]
    assert env["Variables"]["RESLAB_REPORT_BUCKET"] == first.report_bucket
    groups = cloud.client("scheduler", "us-east-2").list_schedules(GroupName="sidea")
    [schedule] = groups["Schedules"]
    assert schedule["Target"]["Arn"] == first.machines["restore"]


def test_reinstall_is_a_no_op_and_a_new_build_replaces_the_code(
    cloud: Any, event_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = event_for("rebuild")
    first = install(cloud.client, "rebuild", event)
    lam, cfn = cloud.client("lambda", "us-east-2"), cloud.client("cloudformation", "us-east-2")
    before = lam.get_function(FunctionName="rebuild-validate_event")["Configuration"]
    again = install(cloud.client, "rebuild", event)
    assert again.functions == first.functions
    events = cfn.describe_stack_events(StackName="rebuild")["StackEvents"]
    assert not any(e["ResourceStatus"].startswith("UPDATE") for e in events)

    built = packaging.installer_artifacts(local=True)
    changed = dict(built)
    changed["validate_event.zip"] = packaging.zip_bytes({"lambda_function.py": b"X = 1\n"})
    monkeypatch.setattr(packaging, "installer_artifacts", lambda local: changed)
    install(cloud.client, "rebuild", event)
    after = lam.get_function(FunctionName="rebuild-validate_event")["Configuration"]
    assert after["CodeSha256"] != before["CodeSha256"]
    prefix = f"reslab/{packaging.artifact_version(changed)}/"
    [param] = [
        p
        for p in cfn.describe_stacks(StackName="rebuild")["Stacks"][0]["Parameters"]
        if p["ParameterKey"] == "ArtifactPrefix"
    ]
    assert param["ParameterValue"] == prefix


def test_an_event_for_other_stacks_is_refused_before_anything_is_created(
    cloud: Any, event_for: Any
) -> None:
    installed = install(cloud.client, "prefixed", event_for("prefixed"))
    other = {**event_for("prefixed"), "stack_prefix": "Someoneelse"}
    sfn = cloud.client("stepfunctions", "us-east-2")
    outcome = execution.wait(sfn, execution.start(sfn, installed.machines["deploy"], other, "x"))
    assert outcome.status == "FAILED"
    assert outcome.error == "InvalidEvent"
    assert "manages only stacks named Prefixed*" in str(outcome.cause)
    cfn = cloud.client("cloudformation", "us-east-2")
    assert not [s for s in cfn.describe_stacks()["Stacks"] if s["StackName"].startswith("Someone")]
