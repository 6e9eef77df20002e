"""The judges of generated policies (parliament, cloudsplaining, the lab's rules) and the data
CloudFormation's service role is judged by (resource provider schemas)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reslab.iam import cfn_permissions
from reslab.iam.judges import judge, lab_rules, template_role_policies

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def kinds(document: dict[str, Any]) -> set[str]:
    return {f"{f.tool}:{f.kind}" for f in judge(document)}


def test_least_privilege_policy_has_no_finding() -> None:
    good = doc(
        {
            "Effect": "Allow",
            "Action": ["rds:DeleteDBSnapshot"],
            "Resource": f"arn:aws:rds:*:{ACCOUNT}:snapshot:lab-*",
            "Condition": {"StringEquals": {"aws:ResourceTag/reslab:temporary": "true"}},
        },
        {
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:lab-*",
        },
        {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": f"arn:aws:iam::{ACCOUNT}:role/lab-CloudFormationRole",
            "Condition": {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
        },
    )
    assert judge(good) == []


def test_what_the_issue_forbids_is_found() -> None:
    assert {"reslab:ServiceWideAction", "cloudsplaining:ServiceWildcard"} <= kinds(
        doc({"Effect": "Allow", "Action": "rds:*", "Resource": "*"})
    )
    found = kinds(
        doc({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
    )
    assert {"reslab:SensitiveOnStar", "cloudsplaining:DataExfiltration"} <= found
    assert "reslab:PassRoleWithoutService" in kinds(
        doc(
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": f"arn:aws:iam::{ACCOUNT}:role/x",
            }
        )
    )
    assert "cloudsplaining:PrivilegeEscalation" in kinds(
        doc(
            {
                "Effect": "Allow",
                "Action": ["iam:PutRolePolicy", "sts:AssumeRole"],
                "Resource": "*",
            }
        )
    )
    assert "parliament:UNKNOWN_ACTION" in kinds(
        doc({"Effect": "Allow", "Action": "s3:GetObjects", "Resource": "arn:aws:s3:::b/*"})
    )
    assert [
        f.kind for f in lab_rules(doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}))
    ][:1] == ["NotActionAllow"]


def test_template_roles_render_for_judging() -> None:
    """The generated installer (long-form intrinsics) and a hand-written template (short tags)."""
    roles = template_role_policies(ROOT / "cloudformation" / "installer.yaml")
    roles |= template_role_policies(ROOT / "cloudformation" / "web.yaml")
    assert {"CloudFormationRole", "BackupCleanupRole", "InstanceRole"} <= set(roles)
    text = json.dumps(roles)
    assert "${" not in text and "Fn::" not in text and '"Ref"' not in text
    web = roles["InstanceRole"][0]["Statement"]
    assert web[0]["Resource"].startswith("arn:aws:secretsmanager:")


def test_cfn_permissions_file_is_current() -> None:
    assert cfn_permissions.DATA.read_text() == cfn_permissions.render(cfn_permissions.generate()), (
        "stale: run python -m reslab.iam.cfn_permissions"
    )


def test_cfn_permissions_cover_every_resource_type_of_the_templates() -> None:
    types = cfn_permissions.resource_types(sorted(ROOT.glob(cfn_permissions.TEMPLATES)))
    data = cfn_permissions.load()
    assert set(types) == set(data)
    assert "rds:CreateDBInstance" in data["AWS::RDS::DBInstance"]["create"]
    assert "iam:PassRole" in data["AWS::Lambda::Function"]["create"]
    assert all(data[t]["create"] for t in types)
