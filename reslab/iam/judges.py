"""Independent judges of a policy: parliament (policy linter: unknown actions, resource/action
mismatches, bad conditions...), cloudsplaining (privilege escalation, data exfiltration,
credentials exposure, permissions management without constraints, service wildcards) and the
lab's own rules (issue 11):

* no ``Allow`` of a bare ``*`` or a service-wide ``svc:*`` action, and no ``NotAction`` Allow;
* no sensitive action (cloudsplaining's exfiltration / credentials / permissions-management /
  privilege-escalation actions, plus ``SENSITIVE``) on ``Resource: "*"``;
* ``iam:PassRole`` only with an ``iam:PassedToService`` condition.

    python -m reslab.iam.judges cloudformation/installer.yaml    # findings per role, today
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reslab.iam.iamdb import action_info, privilege_names
from reslab.iam.policy import Policy
from reslab.iam.wildcards import action_matches
from reslab.templates import load_template

#: Actions the issue names as never allowed on ``Resource: "*"``, beside cloudsplaining's lists.
SENSITIVE = (
    "secretsmanager:GetSecretValue",
    "kms:CreateGrant",
    "kms:Decrypt",
    "s3:PutBucketPolicy",
    "iam:PassRole",
    "ssm:GetParameter",
    "rds:AddTagsToResource",
)


@dataclass(frozen=True)
class Finding:
    tool: str  # "parliament" | "cloudsplaining" | "reslab"
    kind: str
    severity: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.tool}] {self.severity} {self.kind}: {self.detail}"


def parliament_findings(document: Mapping[str, Any]) -> list[Finding]:
    import parliament

    analyzed = parliament.analyze_policy_string(json.dumps(document))
    return [
        Finding(
            "parliament",
            f.issue,
            # auditors shipped outside parliament's config (RESOURCE_STAR) carry no severity
            parliament.config.get(f.issue, {}).get("severity", "") or "AUDITOR",
            json.dumps(f.detail, default=str)[:300],
        )
        for f in analyzed.findings
    ]


#: cloudsplaining's risk categories (PolicyDocument attributes) the lab treats as findings.
CLOUDSPLAINING_RISKS = {
    "allows_privilege_escalation": "PrivilegeEscalation",
    "allows_data_exfiltration_actions": "DataExfiltration",
    "credentials_exposure": "CredentialsExposure",
    "permissions_management_without_constraints": "PermissionsManagementWithoutConstraints",
    "service_wildcard": "ServiceWildcard",
}


def cloudsplaining_findings(document: Mapping[str, Any]) -> list[Finding]:
    from cloudsplaining.scan.policy_document import PolicyDocument

    scanned = PolicyDocument(dict(document))
    findings = []
    for attribute, kind in CLOUDSPLAINING_RISKS.items():
        found = getattr(scanned, attribute)
        if found:
            findings.append(Finding("cloudsplaining", kind, "HIGH", json.dumps(found, default=str)))
    return findings


def _listed(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def lab_rules(document: Mapping[str, Any]) -> list[Finding]:
    policy = Policy.parse(document)
    findings = []
    for index, statement in enumerate(policy.statements):
        if statement.effect != "Allow":
            continue
        where = f"statement {index}" + (f" ({statement.sid})" if statement.sid else "")
        if statement.not_action:
            findings.append(Finding("reslab", "NotActionAllow", "HIGH", where))
        for action in statement.actions:
            if action == "*" or action.endswith(":*"):
                findings.append(
                    Finding("reslab", "ServiceWideAction", "HIGH", f"{where}: {action}")
                )
        on_star = statement.resources is not None and "*" in statement.resources
        if on_star and not statement.conditions:
            for action in statement.actions:
                hits = sensitive_matches(action)
                if hits:
                    detail = f"{where}: {action} on * ({', '.join(hits[:5])})"
                    findings.append(Finding("reslab", "SensitiveOnStar", "HIGH", detail))
        passes = any(action_matches(a, "iam:PassRole") for a in statement.actions)
        keys = {c.key.lower() for c in statement.conditions}
        if passes and "iam:passedtoservice" not in keys:
            findings.append(Finding("reslab", "PassRoleWithoutService", "HIGH", where))
    return findings


@functools.cache
def _listed_sensitive() -> frozenset[str]:
    """``SENSITIVE`` and cloudsplaining's credential, exfiltration and escalation actions."""
    from cloudsplaining.shared import constants

    names = {a.lower() for a in SENSITIVE}
    names |= {a.lower() for a in constants.ACTIONS_THAT_RETURN_CREDENTIALS}
    names |= {a.lower() for a in constants.READ_ONLY_DATA_EXFILTRATION_ACTIONS}
    for actions in constants.PRIVILEGE_ESCALATION_METHODS.values():
        names |= {a.lower() for a in actions}
    return frozenset(names)


def sensitive_matches(pattern: str) -> list[str]:
    """Actions the pattern grants that must not be on ``*``: the listed ones and every
    "Permissions management" action (IAM's access level)."""
    prefix = pattern.split(":", 1)[0].lower()
    hits = []
    for lower, spelled in privilege_names(prefix).items():
        action = f"{prefix}:{spelled}"
        if not action_matches(pattern, action):
            continue
        if (
            lower
            and f"{prefix}:{lower}" in _listed_sensitive()
            or action_info(action).access_level == "Permissions management"
        ):
            hits.append(action)
    return sorted(hits)


def judge(document: Mapping[str, Any]) -> list[Finding]:
    return parliament_findings(document) + cloudsplaining_findings(document) + lab_rules(document)


# --- today's installer, rendered with sample values ------------------------------------------
SAMPLE = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "reslab",
    "StackPrefix": "Lab",
    "LabBucketPrefix": "lab",
    "TemplateBucket": "lab-templates",
    "TemplateFolder": "cloudformation/",
    "ArtifactBucket": "lab-artifacts",
    "ArtifactPrefix": "reslab/0.1.0/",
    "SlackWebhookParameter": "/reslab/slack",
    "Workshop": "w1",
    # web.yaml
    "MasterUserSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1-AbCdEf",
    "KmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "BootBucket": "lab-boot",
    "BootPrefix": "boot/",
    "WebsiteBucketName": "lab-site",
    "WebsiteImageKey": "site/image.jpg",
    # web.yaml in the DMS mode
    "DmsSourceSecretPrimaryArn": (
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:DmsSourceSecret-AbCdEf"
    ),
}
_ARN_OF_TYPE = {
    "AWS::IAM::Role": "arn:aws:iam::123456789012:role/{name}",
    "AWS::IAM::ManagedPolicy": "arn:aws:iam::123456789012:policy/{name}",
    "AWS::SecretsManager::Secret": "arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}",
    "AWS::KMS::Key": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "AWS::Lambda::Function": "arn:aws:lambda:us-east-1:123456789012:function:{name}",
    "AWS::S3::Bucket": "arn:aws:s3:::{lower}",
    "AWS::StepFunctions::StateMachine": "arn:aws:states:us-east-1:123456789012:stateMachine:{name}",
    "AWS::Logs::LogGroup": "arn:aws:logs:us-east-1:123456789012:log-group:{name}:*",
}
#: Attributes that are not a resource's ARN (dms.yaml's preparation role names them).
_ATTRIBUTE_SAMPLES = {
    "GroupId": "sg-0123456789abcdef0",
    "MasterUserSecret.SecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1",
}


def _render(value: Any, resources: Mapping[str, Any]) -> Any:
    def attribute(name: str, attr: str) -> str:
        if attr in _ATTRIBUTE_SAMPLES:
            return _ATTRIBUTE_SAMPLES[attr]
        template = _ARN_OF_TYPE.get(resources.get(name, {}).get("Type", ""), "arn:aws:x::{name}")
        return name if attr == "Name" else template.format(name=name, lower=name.lower())

    def ref(name: str) -> str:
        if name in SAMPLE:
            return SAMPLE[name]
        if resources.get(name, {}).get("Type") in (
            "AWS::StepFunctions::StateMachine",
            "AWS::IAM::ManagedPolicy",
            "AWS::SecretsManager::Secret",  # Ref is the secret's ARN
        ):
            return attribute(name, "Arn")
        return name.lower()

    if isinstance(value, list):
        return [_render(v, resources) for v in value]
    if not isinstance(value, dict):
        return value
    if "Fn::Sub" in value:
        text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]

        def fill(match: re.Match[str]) -> str:
            name, _, attr = match[1].partition(".")
            return attribute(name, attr) if attr else ref(name)

        return re.sub(r"\$\{([^}]+)\}", fill, text)
    if "Fn::GetAtt" in value:
        name, attr = value["Fn::GetAtt"]
        return attribute(name, attr)
    if "Ref" in value:
        return ref(value["Ref"])
    if "Fn::If" in value:
        return _render(value["Fn::If"][1], resources)
    return {k: _render(v, resources) for k, v in value.items()}


def template_role_policies(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Role logical id -> its inline policy documents and the template's managed policies
    attached to it (the role's ``ManagedPolicyArns`` or the policy's ``Roles``); a managed policy
    attached to no role (a permissions boundary) is an entry of its own. Rendered with
    ``SAMPLE`` values."""
    template = load_template(path)
    resources = template.get("Resources", {})
    out: dict[str, list[dict[str, Any]]] = {}
    for name, resource in resources.items():
        if resource["Type"] == "AWS::IAM::Role":
            policies = resource.get("Properties", {}).get("Policies", [])
            out[name] = [_render(p["PolicyDocument"], resources) for p in policies]
    for name, resource in resources.items():
        if resource["Type"] != "AWS::IAM::ManagedPolicy":
            continue
        properties = resource.get("Properties", {})
        document = _render(properties["PolicyDocument"], resources)
        roles = [r["Ref"] for r in properties.get("Roles", []) if isinstance(r, dict)]
        roles += [
            role
            for role, r in resources.items()
            if r["Type"] == "AWS::IAM::Role"
            and {"Ref": name} in r.get("Properties", {}).get("ManagedPolicyArns", [])
        ]
        for role in roles or [name]:
            out.setdefault(role, []).append(document)
    return out


def summarize(findings: Iterable[Finding]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for f in findings:
        key = f"{f.tool}:{f.kind}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def main(argv: list[str]) -> int:
    total: list[Finding] = []
    for path in argv or ["cloudformation/installer.yaml"]:
        for role, documents in template_role_policies(Path(path)).items():
            statements = sum(len(_listed(d["Statement"])) for d in documents)
            findings = [f for d in documents for f in judge(d)]
            total += findings
            print(f"{role}: {statements} statement(s), {len(findings)} finding(s)")
            for finding in findings:
                print(f"  {finding}")
    print(json.dumps(summarize(total), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
