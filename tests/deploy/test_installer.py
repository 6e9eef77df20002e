"""IAM policies the installer writes: least privilege per function."""

from __future__ import annotations

from reslab.event import local_event, validate_event
from reslab.installer import POLICIES, function_policy

EVENT = validate_event(local_event("lab9", {"stack_prefix": "Lab9"}))


def actions_by_resource(function: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for statement in function_policy(function, "lab9", EVENT, "111122223333")["Statement"]:
        for resource in (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        ):
            found.setdefault(resource, set()).update(statement["Action"])
    return found


def test_only_template_summary_and_logs_are_unscoped() -> None:
    for function in POLICIES:
        unscoped = actions_by_resource(function).get("*", set())
        assert unscoped <= {
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "cloudformation:GetTemplateSummary",
        }, function


def test_stack_actions_are_limited_to_the_lab_stacks() -> None:
    stacks = "arn:aws:cloudformation:*:111122223333:stack/Lab9*/*"
    assert "cloudformation:CreateStack" in actions_by_resource("create_stack")[stacks]
    assert actions_by_resource("stack_status")[stacks] == {
        "cloudformation:DescribeStacks",
        "cloudformation:DescribeStackEvents",
    }
    assert "cloudformation:CreateStack" not in actions_by_resource("delete_stack")[stacks]


def test_buckets_and_roles_are_scoped() -> None:
    create = actions_by_resource("create_stack")
    assert create["arn:aws:s3:::lab9-cfn/cloudformation/*"] == {"s3:GetObject"}
    assert create["arn:aws:iam::111122223333:role/lab9-cloudformation"] == {"iam:PassRole"}
    delete = actions_by_resource("delete_stack")
    assert "s3:DeleteObjectVersion" in delete["arn:aws:s3:::lab9*/*"]
    assert set(actions_by_resource("validate_event")) == {"*"}
