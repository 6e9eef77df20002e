"""The evaluation logic of the IAM User Guide ("Policy evaluation logic", "Determining whether a
request is allowed or denied within an account", "Permissions boundaries", KMS "Key policies"),
case by case and as properties over generated policies."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reslab.iam.evaluate import Principal, Reason, Request, context_of, evaluate
from reslab.iam.policy import Policy

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/lab-backup"
SESSION = Principal.session(ROLE, "fn")
BUCKET = "arn:aws:s3:::lab-reports"
OBJECT = f"{BUCKET}/r/1.json"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def policy(*statements: dict[str, Any], version: str = "2012-10-17", name: str = "p") -> Policy:
    return Policy.parse({"Version": version, "Statement": list(statements)}, name=name)


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def req(action: str, resource: str = "*", principal: Principal = SESSION, **ctx: Any) -> Request:
    return Request(principal, action, resource, context_of(ctx))


# --- identity-based policies ---------------------------------------------------------------------
def test_default_is_implicit_deny() -> None:
    decision = evaluate(req("s3:GetObject", OBJECT))
    assert not decision.allowed
    assert decision.reason is Reason.NO_IDENTITY_ALLOW
    assert decision.because("s3:GetObject") == (
        "because no identity-based policy allows the s3:GetObject action"
    )


def test_allow_and_explicit_deny_precedence() -> None:
    p = policy(allow("s3:*", f"{BUCKET}/*", Sid="All"), deny("s3:DeleteObject", OBJECT, Sid="No"))
    assert evaluate(req("s3:GetObject", OBJECT), [p]).allowed
    decision = evaluate(req("s3:DeleteObject", OBJECT), [p])
    assert (decision.allowed, decision.reason, decision.sid) == (False, Reason.DENY_IDENTITY, "No")
    # a deny in another policy of the principal wins as well
    other = policy(deny("s3:*", "*"), name="other")
    denied = evaluate(req("s3:GetObject", OBJECT), [p, other])
    assert (denied.allowed, denied.policy) == (False, "other")


def test_resource_must_match() -> None:
    p = policy(allow("s3:GetObject", f"{BUCKET}/public/*"))
    assert evaluate(req("s3:GetObject", f"{BUCKET}/public/a"), [p]).allowed
    assert not evaluate(req("s3:GetObject", OBJECT), [p]).allowed
    assert not evaluate(req("s3:ListBucket", BUCKET), [p]).allowed


def test_not_action_and_not_resource() -> None:
    p = policy(allow("*", "*"), {"Effect": "Deny", "NotAction": ["s3:Get*"], "Resource": "*"})
    assert evaluate(req("s3:GetObject", OBJECT), [p]).allowed
    assert not evaluate(req("s3:PutObject", OBJECT), [p]).allowed
    q = policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert evaluate(req("rds:DescribeDBInstances"), [q]).allowed
    assert not evaluate(req("iam:PassRole", ROLE), [q]).allowed
    r = policy({"Effect": "Allow", "Action": "s3:*", "NotResource": f"{BUCKET}/secret/*"})
    assert evaluate(req("s3:GetObject", OBJECT), [r]).allowed
    assert not evaluate(req("s3:GetObject", f"{BUCKET}/secret/x"), [r]).allowed


def test_conditions_on_tags_decide() -> None:
    """backup_cleanup: delete only what is tagged reslab:temporary=true."""
    p = policy(
        allow(
            ["rds:DeleteDBInstance", "rds:DeleteDBSnapshot"],
            "*",
            Condition={"StringEquals": {"aws:ResourceTag/reslab:temporary": "true"}},
        )
    )
    db = f"arn:aws:rds:us-east-1:{ACCOUNT}:db:lab-restore"
    tagged = {"aws:ResourceTag/reslab:temporary": "true"}
    assert evaluate(req("rds:DeleteDBInstance", db, **tagged), [p]).allowed
    assert not evaluate(req("rds:DeleteDBInstance", db), [p]).allowed
    other = {"aws:ResourceTag/reslab:temporary": "false"}
    assert not evaluate(req("rds:DeleteDBInstance", db, **other), [p]).allowed


def test_pass_role_limited_by_passed_to_service() -> None:
    p = policy(
        allow(
            "iam:PassRole",
            f"arn:aws:iam::{ACCOUNT}:role/lab-*",
            Condition={"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
        )
    )
    cfn = {"iam:PassedToService": "cloudformation.amazonaws.com"}
    assert evaluate(req("iam:PassRole", ROLE, **cfn), [p]).allowed
    ec2 = {"iam:PassedToService": "ec2.amazonaws.com"}
    assert not evaluate(req("iam:PassRole", ROLE, **ec2), [p]).allowed


def test_request_tags_and_tag_keys() -> None:
    p = policy(
        allow(
            "rds:AddTagsToResource",
            "*",
            Condition={
                "StringEquals": {"aws:RequestTag/workshop": "w1"},
                "ForAllValues:StringEquals": {"aws:TagKeys": ["workshop", "reslab:temporary"]},
            },
        )
    )
    db = f"arn:aws:rds:us-east-1:{ACCOUNT}:db:x"
    good = {"aws:RequestTag/workshop": "w1", "aws:TagKeys": ["workshop"]}
    assert evaluate(req("rds:AddTagsToResource", db, **good), [p]).allowed
    extra_key = {"aws:RequestTag/workshop": "w1", "aws:TagKeys": ["workshop", "owner"]}
    assert not evaluate(req("rds:AddTagsToResource", db, **extra_key), [p]).allowed


def test_policy_variables_in_resource_need_version_2012() -> None:
    statement = allow("s3:GetObject", "arn:aws:s3:::home/${aws:username}/*")
    alice = Principal.user(f"arn:aws:iam::{ACCOUNT}:user/alice")
    ctx = {"aws:username": "alice"}
    assert evaluate(
        req("s3:GetObject", "arn:aws:s3:::home/alice/x", alice, **ctx), [policy(statement)]
    ).allowed
    assert not evaluate(
        req("s3:GetObject", "arn:aws:s3:::home/bob/x", alice, **ctx), [policy(statement)]
    ).allowed
    old = policy(statement, version="2008-10-17")  # ${...} is literal text there
    assert not evaluate(
        req("s3:GetObject", "arn:aws:s3:::home/alice/x", alice, **ctx), [old]
    ).allowed


# --- permissions boundaries ----------------------------------------------------------------------
def test_boundary_caps_identity_policies() -> None:
    identity = policy(allow(["s3:*", "iam:CreateRole"], "*"))
    boundary = policy(allow("s3:*", "*"), name="boundary")
    assert evaluate(req("s3:GetObject", OBJECT), [identity], boundary).allowed
    decision = evaluate(req("iam:CreateRole", ROLE), [identity], boundary)
    assert (decision.allowed, decision.reason) == (False, Reason.NO_BOUNDARY_ALLOW)
    # the boundary alone grants nothing
    assert not evaluate(req("s3:GetObject", OBJECT), [], boundary).allowed
    strict = policy(allow("*", "*"), deny("s3:Delete*", "*"), name="boundary")
    decision = evaluate(req("s3:DeleteObject", OBJECT), [identity], strict)
    assert (decision.allowed, decision.reason) == (False, Reason.DENY_BOUNDARY)


# --- resource-based policies ---------------------------------------------------------------------
def bucket_policy(*statements: dict[str, Any]) -> Policy:
    return policy(*statements, name="bucket policy")


def test_tls_only_bucket_policy() -> None:
    """storage.yaml / installer.yaml: Deny s3:* when aws:SecureTransport is false."""
    tls_only = bucket_policy(
        deny(
            "s3:*",
            [BUCKET, f"{BUCKET}/*"],
            Principal="*",
            Condition={"Bool": {"aws:SecureTransport": "false"}},
        )
    )
    identity = policy(allow("s3:GetObject", f"{BUCKET}/*"))
    https = req("s3:GetObject", OBJECT, **{"aws:SecureTransport": "true"})
    assert evaluate(https, [identity], resource_policy=tls_only).allowed
    http = req("s3:GetObject", OBJECT, **{"aws:SecureTransport": "false"})
    decision = evaluate(http, [identity], resource_policy=tls_only)
    assert (decision.allowed, decision.reason) == (False, Reason.DENY_RESOURCE)
    # even the account's root user
    root = req("s3:GetObject", OBJECT, Principal.root(ACCOUNT), **{"aws:SecureTransport": "false"})
    assert not evaluate(root, resource_policy=tls_only).allowed


def test_resource_policy_grant_to_the_session_stands_alone() -> None:
    grant = bucket_policy(allow("s3:GetObject", f"{BUCKET}/*", Principal={"AWS": SESSION.arn}))
    boundary = policy(allow("ec2:*", "*"))
    assert evaluate(req("s3:GetObject", OBJECT), [], boundary, grant).allowed


def test_resource_policy_grant_to_the_role_is_capped_by_the_boundary() -> None:
    grant = bucket_policy(allow("s3:GetObject", f"{BUCKET}/*", Principal={"AWS": ROLE}))
    assert evaluate(req("s3:GetObject", OBJECT), [], None, grant).allowed
    boundary = policy(allow("ec2:*", "*"))
    decision = evaluate(req("s3:GetObject", OBJECT), [], boundary, grant)
    assert (decision.allowed, decision.reason) == (False, Reason.NO_BOUNDARY_ALLOW)


def test_resource_policy_grant_to_the_account_only_delegates() -> None:
    grant = bucket_policy(allow("s3:GetObject", f"{BUCKET}/*", Principal={"AWS": ACCOUNT}))
    assert not evaluate(req("s3:GetObject", OBJECT), [], None, grant).allowed
    identity = policy(allow("s3:GetObject", "*"))
    assert evaluate(req("s3:GetObject", OBJECT), [identity], None, grant).allowed


def test_resource_policy_for_another_principal_does_not_apply() -> None:
    other = f"arn:aws:iam::{ACCOUNT}:role/someone-else"
    grant = bucket_policy(allow("s3:GetObject", f"{BUCKET}/*", Principal={"AWS": other}))
    assert not evaluate(req("s3:GetObject", OBJECT), [], None, grant).allowed
    refuse = bucket_policy(deny("s3:*", "*", Principal={"AWS": other}))
    identity = policy(allow("s3:*", "*"))
    assert evaluate(req("s3:GetObject", OBJECT), [identity], None, refuse).allowed
    # NotPrincipal: everyone but the named one
    everyone_else = bucket_policy(
        {"Effect": "Deny", "NotPrincipal": {"AWS": other}, "Action": "s3:*", "Resource": "*"}
    )
    denied = evaluate(req("s3:GetObject", OBJECT), [identity], None, everyone_else)
    assert (denied.allowed, denied.reason) == (False, Reason.DENY_RESOURCE)


# --- KMS key policies ----------------------------------------------------------------------------
DATABASE_KEY_POLICY = policy(  # cloudformation/database.yaml, rendered
    {
        "Sid": "KeyAdministrationByAccount",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*"],
        "Resource": "*",
    },
    {
        "Sid": "UseThroughRdsAndSecretsManagerOnly",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:CreateGrant"],
        "Resource": "*",
        "Condition": {
            "StringEquals": {
                "kms:CallerAccount": ACCOUNT,
                "kms:ViaService": [
                    "rds.us-east-1.amazonaws.com",
                    "secretsmanager.us-east-1.amazonaws.com",
                ],
            }
        },
    },
    name="key policy",
)


def test_kms_key_policy_is_required() -> None:
    identity = policy(allow("kms:Decrypt", KEY))
    no_key_policy_statement = policy(
        allow("kms:Describe*", "*", Principal={"AWS": ACCOUNT}), name="key policy"
    )
    decision = evaluate(
        req("kms:Decrypt", KEY), [identity], None, no_key_policy_statement, resource_kind="kms"
    )
    assert (decision.allowed, decision.reason) == (False, Reason.NO_RESOURCE_ALLOW)


def test_kms_via_service_only() -> None:
    identity = policy(allow("kms:Decrypt", KEY))
    via = {"kms:CallerAccount": ACCOUNT, "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
    assert evaluate(
        req("kms:Decrypt", KEY, **via), [identity], None, DATABASE_KEY_POLICY, "kms"
    ).allowed
    direct = {"kms:CallerAccount": ACCOUNT}
    decision = evaluate(
        req("kms:Decrypt", KEY, **direct), [identity], None, DATABASE_KEY_POLICY, "kms"
    )
    assert (decision.allowed, decision.reason) == (False, Reason.NO_RESOURCE_ALLOW)
    # the key policy delegates to IAM: without an identity Allow nothing is granted
    decision = evaluate(req("kms:Decrypt", KEY, **via), [], None, DATABASE_KEY_POLICY, "kms")
    assert (decision.allowed, decision.reason) == (False, Reason.NO_IDENTITY_ALLOW)


def test_root_user() -> None:
    root = Principal.root(ACCOUNT)
    assert evaluate(req("rds:DeleteDBInstance", "*", root)).allowed  # no identity policies apply
    assert evaluate(req("kms:DescribeKey", KEY, root), [], None, DATABASE_KEY_POLICY, "kms").allowed
    locked = policy(allow("kms:Decrypt", "*", Principal={"AWS": ROLE}), name="key policy")
    assert not evaluate(req("kms:DescribeKey", KEY, root), [], None, locked, "kms").allowed


# --- trust policies (sts:AssumeRole) -------------------------------------------------------------
LAMBDA_TRUST = policy(
    {
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    },
    name="trust policy",
)


def test_service_assumes_role_through_the_trust_policy_only() -> None:
    lam = Principal.service("lambda.amazonaws.com", ACCOUNT)
    assert evaluate(req("sts:AssumeRole", ROLE, lam), [], None, LAMBDA_TRUST, "trust").allowed
    ec2 = Principal.service("ec2.amazonaws.com", ACCOUNT)
    decision = evaluate(req("sts:AssumeRole", ROLE, ec2), [], None, LAMBDA_TRUST, "trust")
    assert (decision.allowed, decision.reason) == (False, Reason.NO_RESOURCE_ALLOW)


def test_user_assumes_role_when_trusted_and_allowed() -> None:
    user = Principal.user(f"arn:aws:iam::{ACCOUNT}:user/trainer")
    trust_account = policy(
        {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}
    )
    identity = policy(allow("sts:AssumeRole", ROLE))
    assert evaluate(
        req("sts:AssumeRole", ROLE, user), [identity], None, trust_account, "trust"
    ).allowed
    assert not evaluate(req("sts:AssumeRole", ROLE, user), [], None, trust_account, "trust").allowed
    assert not evaluate(
        req("sts:AssumeRole", ROLE, user), [identity], None, LAMBDA_TRUST, "trust"
    ).allowed
    trust_user = policy(
        {"Effect": "Allow", "Principal": {"AWS": user.arn}, "Action": "sts:AssumeRole"}
    )
    assert evaluate(req("sts:AssumeRole", ROLE, user), [], None, trust_user, "trust").allowed


# --- properties ----------------------------------------------------------------------------------
ACTIONS = ["s3:GetObject", "s3:PutObject", "rds:DeleteDBInstance", "kms:Decrypt", "iam:PassRole"]
ACTION_PATTERNS = ACTIONS + ["*", "s3:*", "s3:Get*", "rds:Delete*", "kms:*", "S3:getobject", "?3:*"]
RESOURCES = [OBJECT, BUCKET, f"arn:aws:rds:us-east-1:{ACCOUNT}:db:lab-db", KEY, ROLE]
RESOURCE_PATTERNS = RESOURCES + ["*", f"{BUCKET}/*", "arn:aws:rds:*:*:db:lab-*", "arn:aws:s3:::*"]

conditions = st.one_of(
    st.just({}),
    st.builds(
        lambda op, v: {op: {"aws:ResourceTag/team": v}},
        st.sampled_from(["StringEquals", "StringNotEquals", "StringLike", "StringEqualsIfExists"]),
        st.sampled_from(["a", "b", "*"]),
    ),
)
statements = st.builds(
    lambda effect, negate_a, actions, negate_r, resources, condition: {
        "Effect": effect,
        ("NotAction" if negate_a else "Action"): actions,
        ("NotResource" if negate_r else "Resource"): resources,
        **({"Condition": condition} if condition else {}),
    },
    st.sampled_from(["Allow", "Deny"]),
    st.booleans(),
    st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=3),
    st.booleans(),
    st.lists(st.sampled_from(RESOURCE_PATTERNS), min_size=1, max_size=3),
    conditions,
)
requests = st.builds(
    lambda action, resource, team: req(
        action, resource, **({"aws:ResourceTag/team": team} if team else {})
    ),
    st.sampled_from(ACTIONS),
    st.sampled_from(RESOURCES),
    st.sampled_from([None, "a", "b"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(statements, min_size=1, max_size=5), statements, requests)
def test_adding_a_deny_never_allows_more(
    existing: list[dict[str, Any]], extra: dict[str, Any], request: Request
) -> None:
    before = evaluate(request, [policy(*existing)])
    after = evaluate(request, [policy(*existing, {**extra, "Effect": "Deny"})])
    assert not (after.allowed and not before.allowed)


@settings(max_examples=300, deadline=None)
@given(st.lists(statements, min_size=1, max_size=5), statements, requests)
def test_adding_an_allow_never_denies_more(
    existing: list[dict[str, Any]], extra: dict[str, Any], request: Request
) -> None:
    before = evaluate(request, [policy(*existing)])
    after = evaluate(request, [policy(*existing, {**extra, "Effect": "Allow"})])
    assert not (before.allowed and not after.allowed)


@settings(max_examples=300, deadline=None)
@given(st.lists(statements, min_size=1, max_size=5), requests, st.randoms())
def test_statement_order_and_policy_split_do_not_matter(
    existing: list[dict[str, Any]], request: Request, rnd: Any
) -> None:
    shuffled = list(existing)
    rnd.shuffle(shuffled)
    cut = rnd.randint(0, len(shuffled))
    one = evaluate(request, [policy(*existing)])
    split = evaluate(
        request,
        [
            policy(*shuffled[:cut] or [allow("none:None", "x")]),
            policy(*shuffled[cut:] or [allow("none:None", "x")]),
        ],
    )
    assert one.allowed == split.allowed


@settings(max_examples=200, deadline=None)
@given(st.lists(statements, min_size=1, max_size=5), requests)
def test_a_matching_unconditional_deny_always_wins(
    existing: list[dict[str, Any]], request: Request
) -> None:
    blocker = deny(request.action, request.resource)
    decision = evaluate(request, [policy(*existing, blocker)], resource_policy=None)
    assert not decision.allowed and decision.reason is Reason.DENY_IDENTITY


@settings(max_examples=200, deadline=None)
@given(st.lists(statements, min_size=1, max_size=5), requests)
def test_boundary_never_widens(existing: list[dict[str, Any]], request: Request) -> None:
    without = evaluate(request, [policy(*existing)])
    with_boundary = evaluate(request, [policy(*existing)], policy(allow("*", "*")))
    everything = policy(allow("*", "*"))
    assert with_boundary.allowed == without.allowed
    narrowed = evaluate(request, [policy(*existing)], policy(allow("s3:*", "*")))
    assert not (narrowed.allowed and not without.allowed)
    assert evaluate(request, [everything]).allowed
