"""Wildcards in actions and ARNs, as the IAM User Guide's Action/Resource element pages say."""

from __future__ import annotations

import pytest

from reslab.iam.wildcards import action_matches, arn_matches, glob_match


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("s3:GetObject", "s3:GetObject", True),
        ("s3:getobject", "s3:GetObject", True),  # actions are case-insensitive
        ("S3:GET*", "s3:GetObjectVersion", True),
        ("s3:Get*", "s3:PutObject", False),
        ("*", "kms:Decrypt", True),
        ("iam:*AccessKey*", "iam:CreateAccessKey", True),
        ("iam:*AccessKey*", "iam:ListAccessKeys", True),
        ("ec2:Describe?pcs", "ec2:DescribeVpcs", True),  # ? is exactly one character
        ("ec2:Describe?pcs", "ec2:DescribeVVpcs", False),
        ("ec2:Describe?Vpcs", "ec2:DescribeVpcs", False),
        ("s3:*", "s3:ListBucket", True),
        ("s3:*", "s3express:CreateSession", False),
        ("s3*", "s3express:CreateSession", True),
    ],
)
def test_action_patterns(pattern: str, action: str, expected: bool) -> None:
    assert action_matches(pattern, action) is expected


@pytest.mark.parametrize(
    ("pattern", "arn", "expected"),
    [
        ("*", "arn:aws:s3:::bucket/key", True),
        ("*", "*", True),
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b/c", True),
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket", False),
        ("arn:aws:s3:::bucket*", "arn:aws:s3:::bucket-2/key", True),
        ("arn:aws:s3:::Bucket/*", "arn:aws:s3:::bucket/key", False),  # ARNs are case-sensitive
        ("arn:aws:iam::123456789012:user/Bob", "arn:aws:iam::123456789012:user/bob", False),
        # the region field's * does not reach into the account field
        ("arn:aws:rds:*:111111111111:db:x", "arn:aws:rds:us-east-1:222222222222:db:x", False),
        ("arn:aws:rds:*:*:db:lab-*", "arn:aws:rds:us-east-1:123456789012:db:lab-db", True),
        ("arn:aws:rds:*:*:db:lab-*", "arn:aws:rds:us-east-1:123456789012:db:other", False),
        # * matches an empty field (S3 ARNs have no region nor account)
        ("arn:aws:s3:*:*:bucket", "arn:aws:s3:::bucket", True),
        # the resource part may hold colons and is matched as one string
        (
            "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/fn:*",
            "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/fn:log-stream:2024/x",
            True,
        ),
        (
            "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/fn:*",
            "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/fn-2:log-stream:x",
            False,
        ),
        # a trailing * in a short pattern expands past the colons
        ("arn:aws:s3*", "arn:aws:s3:::bucket/key", True),
        ("arn:aws:rds:us-east-1:*", "arn:aws:rds:us-east-1:123456789012:db:x", True),
        ("arn:aws:rds:us-east-1", "arn:aws:rds:us-east-1:123456789012:db:x", False),
        ("arn:aws:lambda:*:*:function:fn", "arn:aws:lambda:us-east-1:1:function:fn:alias", False),
        # the request names every resource of the type ("*" for the name): only * covers it
        ("arn:aws:rds:*:*:db:*", "arn:aws:rds:us-east-1:123456789012:db:*", True),
        ("arn:aws:rds:*:*:db:lab-*", "arn:aws:rds:us-east-1:123456789012:db:*", False),
        ("arn:aws:states:*:*:stateMachine:m?", "arn:aws:states:r:1:stateMachine:m1", True),
    ],
)
def test_arn_patterns(pattern: str, arn: str, expected: bool) -> None:
    assert arn_matches(pattern, arn) is expected


def test_star_matches_nothing_at_all_and_question_mark_needs_one_character() -> None:
    assert glob_match("a*b", "ab")
    assert not glob_match("a?b", "ab")
    assert glob_match("a?b", "a:b")
    assert not glob_match("abc", "abcd")  # whole-string match, not a prefix
