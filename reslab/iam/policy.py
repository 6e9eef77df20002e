"""Policy documents as IAM reads them: statements with Effect, (Not)Action, (Not)Resource,
(Not)Principal and Condition, every single value normalised to a tuple.

``Policy.parse`` accepts what IAM stores (a JSON string, URL-encoded as IAM's API returns it, or
a dict) and raises :class:`MalformedPolicyDocument` with IAM's wording for a document IAM would
refuse, so that a bad generated policy fails before anything evaluates it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote

from reslab.iam.conditions import ConditionClause, parse_operator

VERSIONS = ("2012-10-17", "2008-10-17")
STATEMENT_KEYS = frozenset(
    {
        "Sid",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Principal",
        "NotPrincipal",
        "Condition",
    }
)


class MalformedPolicyDocument(ValueError):
    """IAM's ``MalformedPolicyDocument``: the document is not a policy IAM accepts."""


Effect = Literal["Allow", "Deny"]


def _strings(value: Any, element: str) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise MalformedPolicyDocument(f"Policy statement {element} must not be empty")
    out = []
    for item in values:
        if not isinstance(item, str):
            raise MalformedPolicyDocument(f"{element} values must be strings, got {item!r}")
        out.append(item)
    return tuple(out)


def _condition_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise MalformedPolicyDocument(f"Condition values must be strings, numbers, booleans: {value!r}")


@dataclass(frozen=True)
class Principals:
    """``Principal: "*"`` is ``everyone``; otherwise a map of type (``AWS``, ``Service``...) to
    values (account ids, ARNs, service names, ``*``)."""

    everyone: bool
    by_type: Mapping[str, tuple[str, ...]]

    @classmethod
    def parse(cls, value: Any) -> Principals:
        if value == "*":
            return cls(True, {})
        if not isinstance(value, dict) or not value:
            raise MalformedPolicyDocument(f"Invalid principal in policy: {value!r}")
        return cls(False, {str(k): _strings(v, f"Principal {k}") for k, v in value.items()})


@dataclass(frozen=True)
class Statement:
    effect: Effect
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...] | None  # None: no (Not)Resource element (trust policies)
    not_resource: bool
    principals: Principals | None
    not_principal: bool
    conditions: tuple[ConditionClause, ...]
    sid: str | None = None

    @classmethod
    def parse(cls, raw: Any) -> Statement:
        if not isinstance(raw, dict):
            raise MalformedPolicyDocument(f"Statement must be an object, got {raw!r}")
        unknown = set(raw) - STATEMENT_KEYS
        if unknown:
            raise MalformedPolicyDocument(f"Statement has unknown elements: {sorted(unknown)}")
        effect = raw.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise MalformedPolicyDocument(f"Effect must be Allow or Deny, got {effect!r}")
        if ("Action" in raw) == ("NotAction" in raw):
            raise MalformedPolicyDocument("Statement must have exactly one of Action, NotAction")
        if "Resource" in raw and "NotResource" in raw:
            raise MalformedPolicyDocument("Statement must not have both Resource and NotResource")
        if "Principal" in raw and "NotPrincipal" in raw:
            raise MalformedPolicyDocument("Statement must not have both Principal and NotPrincipal")
        action_key = "Action" if "Action" in raw else "NotAction"
        resource_key = "Resource" if "Resource" in raw else "NotResource"
        principal_key = "Principal" if "Principal" in raw else "NotPrincipal"
        return cls(
            effect=effect,
            actions=_strings(raw[action_key], action_key),
            not_action="NotAction" in raw,
            resources=_strings(raw[resource_key], resource_key) if resource_key in raw else None,
            not_resource="NotResource" in raw,
            principals=Principals.parse(raw[principal_key]) if principal_key in raw else None,
            not_principal="NotPrincipal" in raw,
            conditions=_conditions(raw.get("Condition", {})),
            sid=raw.get("Sid"),
        )


def _conditions(raw: Any) -> tuple[ConditionClause, ...]:
    if not isinstance(raw, dict):
        raise MalformedPolicyDocument(f"Condition must be an object, got {raw!r}")
    clauses = []
    for operator, block in raw.items():
        if not isinstance(block, dict) or not block:
            raise MalformedPolicyDocument(f"Condition {operator} must map keys to values")
        if parse_operator(operator) is None:
            raise MalformedPolicyDocument(f"Unknown condition operator: {operator}")
        for key, values in block.items():
            listed = values if isinstance(values, list) else [values]
            clauses.append(
                ConditionClause(operator, key, tuple(_condition_value(v) for v in listed))
            )
    return tuple(clauses)


@dataclass(frozen=True)
class Policy:
    version: str
    statements: tuple[Statement, ...]
    name: str = ""  # where it came from, for reports ("role/x inline y", "bucket policy of z")

    @property
    def supports_variables(self) -> bool:
        """Policy variables (``${aws:username}``) exist only in version 2012-10-17."""
        return self.version == "2012-10-17"

    @classmethod
    def parse(cls, document: str | Mapping[str, Any], name: str = "") -> Policy:
        raw = _load(document)
        version = raw.get("Version", "2008-10-17")
        if version not in VERSIONS:
            raise MalformedPolicyDocument(
                f"The policy must contain a valid version string: {version}"
            )
        unknown = set(raw) - {"Version", "Id", "Statement"}
        if unknown:
            raise MalformedPolicyDocument(f"Policy has unknown elements: {sorted(unknown)}")
        if "Statement" not in raw:
            raise MalformedPolicyDocument("Policy must contain a Statement")
        listed = raw["Statement"] if isinstance(raw["Statement"], list) else [raw["Statement"]]
        return cls(version, tuple(Statement.parse(s) for s in listed), name)


def _load(document: str | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(document, Mapping):
        return document
    text = document.strip()
    if text.startswith("%7B") or text.startswith("%7b"):
        text = unquote(text)
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedPolicyDocument(f"Syntax errors in policy: {exc}") from exc
    if not isinstance(loaded, dict):
        raise MalformedPolicyDocument("Policy must be a JSON object")
    return loaded


def require_resources(policy: Policy) -> None:
    """Identity policies and permissions boundaries need (Not)Resource in every statement."""
    for statement in policy.statements:
        if statement.resources is None:
            raise MalformedPolicyDocument("Policy statement must contain resources.")
        if statement.principals is not None:
            raise MalformedPolicyDocument(
                "Policy document should not specify a principal (identity-based policy)."
            )
