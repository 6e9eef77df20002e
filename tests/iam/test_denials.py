"""Denials read by botocore's own response parsers exactly as a client reads AWS's."""

from __future__ import annotations

import base64
import json

import botocore.session
import pytest
from botocore.awsrequest import HeadersDict
from botocore.parsers import create_parser

from reslab.iam.denials import denial
from reslab.iam.evaluate import Principal, Request, context_of, evaluate
from reslab.iam.policy import Policy

ACCOUNT = "123456789012"
SESSION = Principal.session(f"arn:aws:iam::{ACCOUNT}:role/lab-CreateStackRole", "create_stack")


def parsed_error(service: str, operation: str, request: Request) -> tuple[int, dict]:
    decision = evaluate(request)
    status, headers, body = denial(service, request, decision).render("req-1")
    model = botocore.session.get_session().get_service_model(service)
    parser = create_parser(model.protocol)
    response = {"status_code": status, "headers": HeadersDict(headers), "body": body.encode()}
    parsed = parser.parse(response, model.operation_model(operation).output_shape)
    return status, parsed["Error"]


@pytest.mark.parametrize(
    ("service", "operation", "action", "resource", "code", "status"),
    [
        (
            "cloudformation",
            "CreateStack",
            "cloudformation:CreateStack",
            f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/lab-VPC/*",
            "AccessDenied",
            403,
        ),
        (
            "iam",
            "CreateRole",
            "iam:CreateRole",
            f"arn:aws:iam::{ACCOUNT}:role/x",
            "AccessDenied",
            403,
        ),
        (
            "rds",
            "DeleteDBInstance",
            "rds:DeleteDBInstance",
            f"arn:aws:rds:us-east-1:{ACCOUNT}:db:lab-db",
            "AccessDenied",
            403,
        ),
        (
            "secretsmanager",
            "GetSecretValue",
            "secretsmanager:GetSecretValue",
            f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:lab-AbCdEf",
            "AccessDeniedException",
            400,
        ),
        (
            "stepfunctions",
            "StartExecution",
            "states:StartExecution",
            f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:lab-restore",
            "AccessDeniedException",
            400,
        ),
        (
            "lambda",
            "Invoke",
            "lambda:InvokeFunction",
            f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:lab-create_stack",
            "AccessDeniedException",
            403,
        ),
    ],
)
def test_query_and_json_services(
    service: str, operation: str, action: str, resource: str, code: str, status: int
) -> None:
    got_status, error = parsed_error(service, operation, Request(SESSION, action, resource))
    assert (got_status, error["Code"]) == (status, code)
    assert error["Message"] == (
        f"User: {SESSION.arn} is not authorized to perform: {action} on resource: {resource} "
        f"because no identity-based policy allows the {action} action"
    )


def test_s3_quotes_the_resource() -> None:
    obj = "arn:aws:s3:::lab-reports/r/1.json"
    status, error = parsed_error("s3", "GetObject", Request(SESSION, "s3:GetObject", obj))
    assert (status, error["Code"]) == (403, "AccessDenied")
    assert error["Message"] == (
        f'User: {SESSION.arn} is not authorized to perform: s3:GetObject on resource: "{obj}" '
        "because no identity-based policy allows the s3:GetObject action"
    )


def test_ec2_unauthorized_operation_with_encoded_message() -> None:
    acl = f"arn:aws:ec2:us-east-1:{ACCOUNT}:network-acl/acl-123"
    request = Request(SESSION, "ec2:DeleteNetworkAcl", acl, context_of({"ec2:Region": "us-east-1"}))
    status, error = parsed_error("ec2", "DeleteNetworkAcl", request)
    assert (status, error["Code"]) == (403, "UnauthorizedOperation")
    head, encoded = error["Message"].split(". Encoded authorization failure message: ")
    assert head == (
        "You are not authorized to perform this operation. "
        f"User: {SESSION.arn} is not authorized to perform: ec2:DeleteNetworkAcl on resource: "
        f"{acl} because no identity-based policy allows the ec2:DeleteNetworkAcl action"
    )
    decoded = json.loads(base64.b64decode(encoded))
    assert decoded["allowed"] is False
    assert decoded["context"]["action"] == "ec2:DeleteNetworkAcl"
    assert decoded["context"]["resource"] == acl
    assert decoded["context"]["conditions"]["items"] == [
        {"key": "ec2:region", "values": {"items": [{"value": "us-east-1"}]}}
    ]


def test_ec2_describe_has_no_resource_and_no_encoded_message() -> None:
    request = Request(SESSION, "ec2:DescribeNetworkAcls", "*")
    _, error = parsed_error("ec2", "DescribeNetworkAcls", request)
    assert error["Message"] == (
        "You are not authorized to perform this operation. "
        f"User: {SESSION.arn} is not authorized to perform: ec2:DescribeNetworkAcls "
        "because no identity-based policy allows the ec2:DescribeNetworkAcls action"
    )


def test_explicit_deny_wording() -> None:
    bucket = "arn:aws:s3:::lab-reports"
    tls_only = Policy.parse(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": bucket,
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )
    request = Request(
        SESSION, "s3:ListBucket", bucket, context_of({"aws:SecureTransport": "false"})
    )
    decision = evaluate(request, resource_policy=tls_only)
    message = denial("s3", request, decision).message
    assert message.endswith("with an explicit deny in a resource-based policy")
