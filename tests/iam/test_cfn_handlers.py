"""The CloudFormation handler table (``reslab.iam.cfn_handlers``) against the provider schemas'
handler permissions (``reslab/iam/data/cfn_permissions.json``) and IAM's database."""

from __future__ import annotations

import fnmatch

import pytest

from reslab.iam import cfn_handlers, cfn_permissions
from reslab.iam.context import Environment, build
from reslab.iam.evaluate import Principal
from reslab.iam.iamdb import action_info
from reslab.iam.sources import WHOLE_ARN
from reslab.iam.state import Where

PERMISSIONS = cfn_permissions.load()
ROWS = [
    (kind, handler, call)
    for kind, row in sorted(cfn_handlers.CFN_HANDLERS.items())
    for handler, calls in (("create", row.create), ("delete", row.delete), ("update", row.update))
    for call in calls
]


def test_every_resource_type_of_the_templates_has_a_row_and_no_other() -> None:
    assert set(cfn_handlers.CFN_HANDLERS) == set(PERMISSIONS)


@pytest.mark.parametrize(
    ("kind", "handler", "call"), ROWS, ids=[f"{k}-{h}-{c.authorization.action}" for k, h, c in ROWS]
)
def test_every_action_is_a_permission_of_that_handler(
    kind: str, handler: str, call: object
) -> None:
    action = call.authorization.action  # type: ignore[attr-defined]
    listed = PERMISSIONS[kind][handler]
    assert any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in listed), (
        f"{action} is not a permission of {kind}'s {handler} handler: {listed}"
    )


@pytest.mark.parametrize(
    ("kind", "handler", "call"), ROWS, ids=[f"{k}-{h}-{c.authorization.action}" for k, h, c in ROWS]
)
def test_every_bound_resource_type_is_one_of_the_action(
    kind: str, handler: str, call: object
) -> None:
    authorization = call.authorization  # type: ignore[attr-defined]
    info = action_info(authorization.action)
    assert info.action == authorization.action  # spelled as IAM spells it
    names = {rt.name for rt in info.resource_types}
    assert set(authorization.resources) - {WHOLE_ARN} <= names


def test_a_read_replica_is_created_by_its_own_action_and_tags_are_request_tags() -> None:
    where = Where("123456789012", "us-east-2", "aws")
    principal = Principal.session("arn:aws:iam::123456789012:role/cfn", "AWSCloudFormation")
    params = {
        "Name": "Lab-Replica-X1",
        "SourceDBInstanceIdentifier": "arn:aws:rds:us-east-1:123456789012:db:lab-db",
        "Tags": [{"Key": "workshop", "Value": "w1"}],
    }
    built = build(
        cfn_handlers.calls("AWS::RDS::DBInstance", "create", params),
        params,
        principal,
        Environment(where),
    )
    requests = [(b.request.action, b.request.resource) for b in built]
    assert requests == [
        ("rds:CreateDBInstanceReadReplica", "arn:aws:rds:us-east-2:123456789012:db:lab-replica-x1"),
        ("rds:AddTagsToResource", "arn:aws:rds:us-east-2:123456789012:db:lab-replica-x1"),
    ]
    assert built[0].request.context["aws:requesttag/workshop"] == ("w1",)
    assert built[0].request.context["aws:tagkeys"] == ("workshop",)


def test_a_role_handed_to_a_service_is_passed_with_the_service() -> None:
    where = Where("123456789012", "us-east-2", "aws")
    principal = Principal.session("arn:aws:iam::123456789012:role/cfn", "AWSCloudFormation")
    params = {"Name": "Lab-Web-Profile", "Roles": ["Lab-Web-InstanceRole"]}
    built = build(
        cfn_handlers.calls("AWS::IAM::InstanceProfile", "create", params),
        params,
        principal,
        Environment(where),
    )
    passed = [b.request for b in built if b.request.action == "iam:PassRole"]
    assert [r.resource for r in passed] == ["arn:aws:iam::123456789012:role/Lab-Web-InstanceRole"]
    assert passed[0].context["iam:passedtoservice"] == ("ec2.amazonaws.com",)
