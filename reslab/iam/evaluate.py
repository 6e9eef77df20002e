"""Allow or deny one request, as the IAM User Guide's "Policy evaluation logic" does within one
account (no Organizations SCPs/RCPs, no session policies, no cross-account access).

1. An explicit ``Deny`` in any applicable policy (identity-based, resource-based, permissions
   boundary) denies. It wins over every ``Allow``.
2. Otherwise the request needs an ``Allow``:

   * **root user** of the account: needs none (identity policies do not apply to it), except for a
     KMS key, whose key policy must allow the account or the root user;
   * **service principal** (``lambda.amazonaws.com`` assuming a role): only the resource-based
     policy (the role's trust policy) can allow it;
   * **IAM user / assumed-role session**: an identity-based ``Allow``, or a resource-based one that
     names it. A resource-based grant to the user's or the session's own ARN stands alone; one to
     the role's ARN (or ``*``) is still capped by the permissions boundary; one to the account
     (``123456789012`` or ``arn:aws:iam::123456789012:root``) only delegates to IAM, i.e. needs the
     identity-based ``Allow`` as well. A KMS key policy is required: without a key-policy ``Allow``
     (direct, or to the account) IAM policies grant nothing on the key.
3. A permissions boundary, when the principal has one, must allow as well.

The :class:`Decision` carries the reason in the words AWS's error messages use
(``reslab.iam.denials``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from reslab.iam.conditions import Context, clause_holds, substitute
from reslab.iam.policy import Policy, Principals, Statement
from reslab.iam.wildcards import action_matches, arn_matches

PrincipalKind = Literal["root", "user", "assumed-role", "service"]
ResourcePolicyKind = Literal["standard", "kms", "trust"]


@dataclass(frozen=True)
class Principal:
    """Who makes the request.

    ``arn``: the user, the assumed-role session (``arn:aws:sts::A:assumed-role/R/S``), the root
    user (``arn:aws:iam::A:root``) or, for a service, its name (``lambda.amazonaws.com``)."""

    arn: str
    account: str
    kind: PrincipalKind
    role_arn: str | None = None  # assumed-role: the role (arn:aws:iam::A:role/path/R)

    @classmethod
    def root(cls, account: str) -> Principal:
        return cls(f"arn:aws:iam::{account}:root", account, "root")

    @classmethod
    def user(cls, arn: str) -> Principal:
        return cls(arn, arn.split(":")[4], "user")

    @classmethod
    def session(cls, role_arn: str, session_name: str) -> Principal:
        account = role_arn.split(":")[4]
        role_name = role_arn.rsplit("/", 1)[-1]
        partition = role_arn.split(":")[1]
        return cls(
            f"arn:{partition}:sts::{account}:assumed-role/{role_name}/{session_name}",
            account,
            "assumed-role",
            role_arn,
        )

    @classmethod
    def service(cls, name: str, account: str) -> Principal:
        return cls(name, account, "service")


@dataclass(frozen=True)
class Request:
    """One authorization: one principal, one action, one resource ARN (``*`` when the action has
    no resource-level permission), and the condition keys (lower-case names)."""

    principal: Principal
    action: str
    resource: str
    context: Context = field(default_factory=dict)


class Reason(enum.Enum):
    ALLOWED = "allowed"
    DENY_IDENTITY = "with an explicit deny in an identity-based policy"
    DENY_RESOURCE = "with an explicit deny in a resource-based policy"
    DENY_BOUNDARY = "with an explicit deny in a permissions boundary"
    NO_IDENTITY_ALLOW = "because no identity-based policy allows the {action} action"
    NO_RESOURCE_ALLOW = "because no resource-based policy allows the {action} action"
    NO_BOUNDARY_ALLOW = "because no permissions boundary allows the {action} action"

    @property
    def explicit(self) -> bool:
        return self.name.startswith("DENY_")


@dataclass(frozen=True)
class StatementRef:
    policy: str  # the policy's name (Policy.name)
    index: int  # position of the statement in it
    sid: str | None = None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: Reason
    policy: str = ""  # the policy whose statement decided (allow or explicit deny), if any
    sid: str | None = None
    #: every statement that allowed it on the deciding side (all of them, so that the access log
    #: can tell a statement some request needed from one another statement shadows)
    allowed_by: tuple[StatementRef, ...] = ()

    def because(self, action: str) -> str:
        return self.reason.value.format(action=action)


class Grant(enum.IntEnum):
    """How a resource-based statement names the principal (higher: stronger)."""

    NONE = 0
    ACCOUNT = 1  # delegates to the account's IAM policies
    ROLE = 2  # the role's ARN, "*", a service: a grant still capped by a boundary
    SESSION = 3  # the user's or the session's own ARN: a grant that stands alone


def _account_of(value: str) -> str | None:
    if value.isdigit() and len(value) == 12:
        return value
    if value.startswith("arn:") and value.endswith(":root"):
        return value.split(":")[4]
    return None


def grant_for(principals: Principals, principal: Principal) -> Grant:
    if principals.everyone:
        return Grant.ROLE
    best = Grant.NONE
    for kind, values in principals.by_type.items():
        for value in values:
            if kind == "Service":
                hit = Grant.ROLE if principal.kind == "service" and value == principal.arn else None
            elif kind != "AWS" or principal.kind == "service":
                hit = None
            elif value == "*":
                hit = Grant.ROLE
            elif value == principal.arn:
                hit = Grant.ACCOUNT if principal.kind == "root" else Grant.SESSION
            elif principal.role_arn and value == principal.role_arn:
                hit = Grant.ROLE
            elif _account_of(value) == principal.account:
                hit = Grant.ACCOUNT
            else:
                hit = None
            best = max(best, hit or Grant.NONE)
    return best


def _resource_matches(statement: Statement, request: Request, variables: bool) -> bool:
    if statement.resources is None:
        return True
    hit = False
    for pattern in statement.resources:
        filled = substitute(pattern, request.context) if variables else pattern
        if filled is not None and arn_matches(filled, request.resource):
            hit = True
            break
    return hit != statement.not_resource


def applies(statement: Statement, request: Request, variables: bool) -> bool:
    """Action, resource and conditions match (the principal is the caller's concern)."""
    action_hit = any(action_matches(p, request.action) for p in statement.actions)
    if action_hit == statement.not_action:
        return False
    if not _resource_matches(statement, request, variables):
        return False
    return all(clause_holds(c, request.context, variables) for c in statement.conditions)


def _principal_grant(statement: Statement, principal: Principal) -> Grant:
    if statement.principals is None:
        return Grant.NONE
    grant = grant_for(statement.principals, principal)
    if statement.not_principal:
        return Grant.ROLE if grant == Grant.NONE else Grant.NONE
    return grant


@dataclass
class _Found:
    allow: tuple[Policy, Statement] | None = None
    deny: tuple[Policy, Statement] | None = None
    grant: Grant = Grant.NONE
    allows: list[StatementRef] = field(default_factory=list)


def _scan(policies: Iterable[Policy], request: Request, resource_based: bool) -> _Found:
    found = _Found()
    for policy in policies:
        for statement in policy.statements:
            if not applies(statement, request, policy.supports_variables):
                continue
            grant = _principal_grant(statement, request.principal) if resource_based else None
            if resource_based and grant == Grant.NONE:
                continue
            if statement.effect == "Deny":
                found.deny = found.deny or (policy, statement)
            else:
                found.allow = found.allow or (policy, statement)
                index = policy.statements.index(statement)
                found.allows.append(StatementRef(policy.name, index, statement.sid))
                if grant is not None:
                    found.grant = max(found.grant, grant)
    return found


def _decision(
    allowed: bool,
    reason: Reason,
    hit: tuple[Policy, Statement] | None,
    side: _Found | None = None,
) -> Decision:
    policy, statement = hit if hit else (None, None)
    return Decision(
        allowed,
        reason,
        policy.name if policy else "",
        statement.sid if statement else None,
        tuple(side.allows) if (allowed and side) else (),
    )


def evaluate(
    request: Request,
    identity: Iterable[Policy] = (),
    boundary: Policy | None = None,
    resource_policy: Policy | None = None,
    resource_kind: ResourcePolicyKind = "standard",
) -> Decision:
    """Allow or deny ``request`` (module docstring)."""
    is_service = request.principal.kind == "service"
    is_root = request.principal.kind == "root"
    mine = _scan(() if (is_service or is_root) else identity, request, resource_based=False)
    theirs = _scan([resource_policy] if resource_policy else [], request, resource_based=True)
    bounds = _scan([boundary] if boundary and not (is_service or is_root) else [], request, False)

    if mine.deny:
        return _decision(False, Reason.DENY_IDENTITY, mine.deny)
    if theirs.deny:
        return _decision(False, Reason.DENY_RESOURCE, theirs.deny)
    if bounds.deny:
        return _decision(False, Reason.DENY_BOUNDARY, bounds.deny)

    if is_service:
        if theirs.grant >= Grant.ROLE:
            return _decision(True, Reason.ALLOWED, theirs.allow, theirs)
        return _decision(False, Reason.NO_RESOURCE_ALLOW, None)
    if is_root:
        if resource_kind in ("kms", "trust") and theirs.grant == Grant.NONE:
            return _decision(False, Reason.NO_RESOURCE_ALLOW, None)
        return _decision(True, Reason.ALLOWED, theirs.allow, theirs)

    if theirs.grant == Grant.SESSION:
        return _decision(True, Reason.ALLOWED, theirs.allow, theirs)
    if resource_kind in ("kms", "trust"):
        if theirs.grant == Grant.NONE:
            reason = Reason.NO_RESOURCE_ALLOW if mine.allow else Reason.NO_IDENTITY_ALLOW
            return _decision(False, reason, None)
        allowed_by = theirs.allow if theirs.grant == Grant.ROLE else mine.allow
    else:
        allowed_by = mine.allow or (theirs.allow if theirs.grant == Grant.ROLE else None)
    if allowed_by is None:
        return _decision(False, Reason.NO_IDENTITY_ALLOW, None)
    if boundary is not None and bounds.allow is None:
        return _decision(False, Reason.NO_BOUNDARY_ALLOW, None)
    side = mine if allowed_by is mine.allow else theirs
    return _decision(True, Reason.ALLOWED, allowed_by, side)


def context_of(values: Mapping[str, str | Iterable[str]]) -> dict[str, tuple[str, ...]]:
    """Condition keys for a :class:`Request`: names lower-cased, every value a tuple."""
    return {
        key.lower(): (value,) if isinstance(value, str) else tuple(value)
        for key, value in values.items()
    }
