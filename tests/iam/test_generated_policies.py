"""The installer's generated policies, judged by parliament, cloudsplaining and the lab's rules;
the CloudFormation role comes from the lab templates; roles the templates create get the
boundary (issue 11, "Policies generated, least privilege")."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from reslab import REPO_ROOT
from reslab.iam.judges import judge, template_role_policies
from reslab.installer import cfn_role
from reslab.templates import load_template
from reslab_lambda.stacks import stack_table

INSTALLER = REPO_ROOT / "cloudformation" / "installer.yaml"
#: Findings that must stay, by (policy, tool:kind) -> how many; each with its reason.
ALLOWED = {
    # Statements are grouped by (service, condition): an action needing a tagged and an untagged
    # resource type has them in two statements (ec2:RunInstances: the public AMI, the instance
    # and its interface, the lab's subnet and security group by tag; kms:CreateAlias/DeleteAlias:
    # the alias by name, the key by tag; ssm:GetParameters: public parameters have no account,
    # which parliament's pattern wants). AWS authorizes every ARN of a request against every
    # statement, so the split grants exactly the pairs listed.
    ("CloudFormationRole", "parliament:RESOURCE_MISMATCH"): 5,
    # storage.yaml creates AWS::S3::BucketPolicy: the role writes the policies of the lab's
    # buckets (arn:aws:s3:::<LabBucketPrefix>*) only, as CloudFormation must to create them
    # (parliament notes it may not PutObject there; it may GetObject: the dms stack's function
    # code, which Lambda reads with the caller's permissions).
    ("CloudFormationRole", "parliament:RESOURCE_POLICY_PRIVILEGE_ESCALATION"): 1,
    # The provider schemas' autoscaling:Describe*, ec2:Describe*, elasticloadbalancing:Describe*
    # (List/Read only, none sensitive) are kept whole: expanded to ~250 actions the role's
    # managed policies would exceed IAM's quota. parliament notes (LOW) that a few ec2 Describe
    # actions could take a resource ARN.
    ("CloudFormationRole", "parliament:RESOURCE_STAR"): 1,
}


def _findings(path: Path) -> Counter[tuple[str, str]]:
    found: Counter[tuple[str, str]] = Counter()
    for role, documents in template_role_policies(path).items():
        for document in documents:
            for finding in judge(document):
                found[(role, f"{finding.tool}:{finding.kind}")] += 1
    return found


def test_the_installer_is_judged_clean_but_for_the_listed_findings() -> None:
    found = _findings(INSTALLER)
    assert not [k for k in found if not k[1].startswith("parliament:")], found
    assert dict(found) == ALLOWED


@pytest.mark.parametrize("template", ["web.yaml", "database.yaml", "dms.yaml"])
def test_the_lab_templates_roles_are_judged_clean(template: str) -> None:
    assert _findings(REPO_ROOT / "cloudformation" / template) == Counter()


def _installer_statements(*names: str) -> list[dict]:
    resources = load_template("installer.yaml")["Resources"]
    return [
        s
        for n, r in resources.items()
        if n.startswith(names) and r["Type"] == "AWS::IAM::ManagedPolicy"
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_the_cloudformation_role_holds_only_handler_permissions_of_the_lab_templates() -> None:
    handler = set(cfn_role.handler_actions(cfn_role.lab_templates()))
    granted = {a for s in _installer_statements("CloudFormationPolicy") for a in s["Action"] if a}
    # the templates' AWS::SSM::Parameter::Value parameters are resolved with the role
    assert granted - handler == {"ssm:GetParameters"}
    # the rest need a resource type the lab never has (a VPN gateway, an alarm, a VPC Lattice
    # target group...): they have no place in the role
    for action in handler - granted:
        assert cfn_role._placements(action) == [], action
    assert not [a for a in granted if a.endswith(":*")]
    assert "update" not in cfn_role.HANDLERS  # the lab never updates a lab stack


def test_the_cloudformation_role_creates_roles_only_with_the_lab_boundary() -> None:
    statements = _installer_statements("CloudFormationPolicy")
    boundary = {"Fn::Sub": "${LabRoleBoundary}"}
    changing = {"iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy"}
    for statement in statements:
        actions = set(statement["Action"])
        if actions & changing:
            assert statement["Condition"]["ArnEquals"]["iam:PermissionsBoundary"] == boundary
        if "iam:AttachRolePolicy" in actions:  # only the AWS managed policies the roles name
            arns = statement["Condition"]["ArnEquals"]["iam:PolicyARN"]
            assert all(":iam::aws:policy/" in a["Fn::Sub"] for a in arns), arns
        if "iam:PassRole" in actions:
            assert statement["Condition"]["StringEquals"]["iam:PassedToService"] == [
                {"Fn::Sub": "dms.${AWS::Region}.amazonaws.com"},  # dms.yaml's regional principal
                "ec2.amazonaws.com",
                "lambda.amazonaws.com",  # dms.yaml's target preparation function
                "monitoring.rds.amazonaws.com",
            ]
        # nothing that could change or remove a boundary, or any managed policy
        assert not [a for a in actions if "PermissionsBoundary" in a or "PolicyVersion" in a]
        assert not actions & {"iam:CreatePolicy", "iam:DeletePolicy"}


def test_every_role_the_lab_templates_create_gets_the_boundary_from_the_install() -> None:
    for spec in stack_table():
        template = load_template(spec.template_file)
        roles = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
        if not roles:
            continue
        assert spec.install_parameters["PermissionsBoundaryArn"] == "lab_boundary", spec.key
        assert template["Parameters"]["PermissionsBoundaryArn"]["Default"] == ""
        for role in roles:
            assert role["Properties"]["PermissionsBoundary"] == {
                "Fn::If": [
                    "HasBoundary",
                    {"Ref": "PermissionsBoundaryArn"},
                    {"Ref": "AWS::NoValue"},
                ]
            }


def test_the_boundary_holds_what_the_lab_roles_use_and_nothing_sensitive_on_star() -> None:
    granted = {a for s in _installer_statements("LabRoleBoundary") for a in s["Action"]}
    web = template_role_policies(REPO_ROOT / "cloudformation" / "web.yaml")["InstanceRole"]
    inline = {
        a
        for d in web
        for s in d["Statement"]
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    assert inline <= granted
    # the AWS managed policies the roles attach (Session Manager, Enhanced Monitoring)
    assert {"ssmmessages:OpenDataChannel", "logs:PutLogEvents"} <= granted
    for statement in _installer_statements("LabRoleBoundary"):
        if statement["Resource"] == "*":
            assert not {"secretsmanager:GetSecretValue", "ssm:GetParameter", "s3:GetObject"} & set(
                statement["Action"]
            )


def test_a_resource_type_without_a_scope_is_a_named_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a type the data knows (dms.yaml's) whose SCOPES row is missing: a new type needs a decision
    unscoped = {k: v for k, v in cfn_role.SCOPES.items() if k != ("dms", "ReplicationSubnetGroup")}
    monkeypatch.setattr(cfn_role, "SCOPES", unscoped)
    template = {"Resources": {"T": {"Type": "AWS::DMS::ReplicationSubnetGroup"}}}
    path = tmp_path / "t.yaml"
    path.write_text(json.dumps(template))
    with pytest.raises(
        cfn_role.UnscopedResourceType, match=r"requires \('dms', 'ReplicationSubnetGroup'\)"
    ):
        cfn_role.statements([path])
