"""Condition operators, set qualifiers, IfExists, Null and policy variables (IAM User Guide:
"Condition operators", "Set operators for multivalued context keys", "Policy variables")."""

from __future__ import annotations

import pytest

from reslab.iam.conditions import ConditionClause, clause_holds, parse_operator
from reslab.iam.evaluate import context_of
from reslab.iam.policy import MalformedPolicyDocument, Policy


def holds(operator: str, key: str, values: list[str], context: dict) -> bool:
    return clause_holds(ConditionClause(operator, key, tuple(values)), context_of(context))


@pytest.mark.parametrize(
    ("operator", "wanted", "actual", "expected"),
    [
        ("StringEquals", ["prod"], "prod", True),
        ("StringEquals", ["prod"], "Prod", False),  # case-sensitive
        ("StringEquals", ["dev", "prod"], "prod", True),  # values of one key are ORed
        ("StringNotEquals", ["prod"], "dev", True),
        ("StringNotEquals", ["dev", "prod"], "prod", False),
        ("StringEqualsIgnoreCase", ["PROD"], "prod", True),
        ("StringNotEqualsIgnoreCase", ["PROD"], "prod", False),
        ("StringLike", ["lab-*"], "lab-db", True),
        ("StringLike", ["lab-?b"], "lab-db", True),
        ("StringLike", ["ssm.*.amazonaws.com"], "ssm.us-east-2.amazonaws.com", True),
        ("StringLike", ["lab-*"], "Lab-db", False),
        ("StringNotLike", ["lab-*"], "other", True),
        ("StringEquals", ["lab-*"], "lab-db", False),  # StringEquals has no wildcards
        ("NumericLessThan", ["10"], "9", True),
        ("NumericLessThan", ["10"], "10", False),
        ("NumericLessThanEquals", ["10"], "10", True),
        ("NumericGreaterThan", ["1.5"], "2", True),
        ("NumericEquals", ["7"], "7.0", True),
        ("NumericNotEquals", ["7"], "8", True),
        ("NumericEquals", ["7"], "seven", False),  # not a number: no match
        ("DateLessThan", ["2030-01-01T00:00:00Z"], "2024-06-01T12:00:00Z", True),
        ("DateGreaterThan", ["2030-01-01T00:00:00Z"], "2024-06-01T12:00:00Z", False),
        ("DateEquals", ["2024-06-01T00:00:00Z"], "1717200000", True),  # epoch seconds
        ("Bool", ["false"], "false", True),
        ("Bool", ["false"], "true", False),
        ("Bool", ["true"], "True", True),
        ("IpAddress", ["203.0.113.0/24"], "203.0.113.7", True),
        ("NotIpAddress", ["203.0.113.0/24"], "198.51.100.1", True),
        ("ArnLike", ["arn:aws:iam::*:role/lab-*"], "arn:aws:iam::123456789012:role/lab-x", True),
        ("ArnEquals", ["arn:aws:iam::*:role/lab-*"], "arn:aws:iam::123456789012:role/lab-x", True),
        ("ArnLike", ["arn:aws:iam::*:role/lab-*"], "arn:aws:iam::123456789012:role/x", False),
        ("ArnNotLike", ["arn:aws:iam::*:role/lab-*"], "arn:aws:iam::123456789012:role/x", True),
        ("BinaryEquals", ["QmluYXJ5"], "QmluYXJ5", True),
    ],
)
def test_operator(operator: str, wanted: list[str], actual: str, expected: bool) -> None:
    assert holds(operator, "k:key", wanted, {"k:key": actual}) is expected


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("StringEquals", False),
        ("StringLike", False),
        ("ArnLike", False),
        ("Bool", False),
        ("NumericLessThan", False),
        # negated operators are true when the key is absent
        ("StringNotEquals", True),
        ("StringNotLike", True),
        ("ArnNotLike", True),
        ("NotIpAddress", True),
        ("DateNotEquals", True),
        # IfExists: true when absent
        ("StringEqualsIfExists", True),
        ("BoolIfExists", True),
        ("StringNotEqualsIfExists", True),
        # set qualifiers on an absent key
        ("ForAllValues:StringEquals", True),
        ("ForAnyValue:StringEquals", False),
    ],
)
def test_absent_key(operator: str, expected: bool) -> None:
    assert holds(operator, "aws:RequestTag/team", ["x"], {}) is expected


def test_if_exists_still_tests_a_present_key() -> None:
    assert holds("StringEqualsIfExists", "k:k", ["a"], {"k:k": "a"})
    assert not holds("StringEqualsIfExists", "k:k", ["a"], {"k:k": "b"})


def test_null() -> None:
    assert holds("Null", "aws:TokenIssueTime", ["true"], {})
    assert not holds("Null", "aws:TokenIssueTime", ["true"], {"aws:TokenIssueTime": "x"})
    assert holds("Null", "aws:TokenIssueTime", ["false"], {"aws:TokenIssueTime": "x"})
    assert not holds("Null", "aws:TokenIssueTime", ["false"], {})


def test_condition_key_names_are_case_insensitive() -> None:
    assert holds("StringEquals", "AWS:ResourceTag/Team", ["a"], {"aws:resourcetag/team": "a"})


@pytest.mark.parametrize(
    ("operator", "wanted", "request_values", "expected"),
    [
        # ForAllValues: every request value is among the policy's
        ("ForAllValues:StringEquals", ["workshop", "owner"], ["workshop"], True),
        ("ForAllValues:StringEquals", ["workshop", "owner"], ["workshop", "owner"], True),
        ("ForAllValues:StringEquals", ["workshop", "owner"], ["workshop", "cost"], False),
        ("ForAllValues:StringEquals", ["workshop"], [], True),  # empty set: vacuously true
        # ForAnyValue: at least one is
        ("ForAnyValue:StringEquals", ["workshop"], ["cost", "workshop"], True),
        ("ForAnyValue:StringEquals", ["workshop"], ["cost"], False),
        ("ForAnyValue:StringEquals", ["workshop"], [], False),
        ("ForAnyValue:StringLike", ["reslab:*"], ["x", "reslab:temporary"], True),
        # negated with a qualifier: per request value
        ("ForAllValues:StringNotEquals", ["secret"], ["a", "b"], True),
        ("ForAllValues:StringNotEquals", ["secret"], ["a", "secret"], False),
        ("ForAnyValue:StringNotEquals", ["secret"], ["a", "secret"], True),
        ("ForAnyValue:StringNotEquals", ["secret"], ["secret"], False),
        # no qualifier on a multivalued key: any value for positive, none for negated
        ("StringEquals", ["workshop"], ["cost", "workshop"], True),
        ("StringNotEquals", ["workshop"], ["cost", "workshop"], False),
    ],
)
def test_multivalued_keys(
    operator: str, wanted: list[str], request_values: list[str], expected: bool
) -> None:
    assert holds(operator, "aws:TagKeys", wanted, {"aws:TagKeys": request_values}) is expected


def test_policy_variables() -> None:
    ctx = {"aws:username": "alice", "aws:PrincipalTag/team": "db"}
    assert holds("StringEquals", "k:owner", ["${aws:username}"], {**ctx, "k:owner": "alice"})
    assert not holds("StringEquals", "k:owner", ["${aws:username}"], {**ctx, "k:owner": "bob"})
    assert holds("StringLike", "k:p", ["home/${aws:username}/*"], {**ctx, "k:p": "home/alice/x"})
    team = "${aws:PrincipalTag/team}"
    assert holds(
        "StringEquals", "aws:ResourceTag/team", [team], {**ctx, "aws:ResourceTag/team": "db"}
    )
    # a variable without a value matches nothing; a default fills in
    assert not holds("StringEquals", "k:o", ["${aws:userid}"], {"k:o": ""})
    assert holds("StringEquals", "k:o", ["${aws:userid, 'none'}"], {"k:o": "none"})
    # ${*} is a literal asterisk, also in StringLike
    assert holds("StringLike", "k:o", ["a${*}"], {"k:o": "a*"})
    assert not holds("StringLike", "k:o", ["a${*}"], {"k:o": "ab"})
    # values substituted into StringLike are literal, not patterns
    star_user = {"aws:username": "*"}
    assert not holds("StringLike", "k:o", ["${aws:username}"], {**star_user, "k:o": "bob"})
    # not for Numeric operators
    assert not holds("NumericEquals", "k:n", ["${aws:username}"], {"aws:username": "1", "k:n": "1"})


def test_operators_parse_and_unknown_ones_are_refused() -> None:
    parsed = parse_operator("ForAnyValue:StringLikeIfExists")
    assert parsed is not None
    assert (parsed.base, parsed.qualifier, parsed.if_exists) == ("StringLike", "ForAnyValue:", True)
    assert parse_operator("StringSortOfEquals") is None
    with pytest.raises(MalformedPolicyDocument, match="Unknown condition operator"):
        Policy.parse(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "s3:*",
                        "Resource": "*",
                        "Condition": {"StringSortOfEquals": {"a:b": "c"}},
                    }
                ],
            }
        )
