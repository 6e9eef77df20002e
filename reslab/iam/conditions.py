"""The ``Condition`` element: operators, set qualifiers, ``...IfExists``, ``Null``, and policy
variables, as the IAM User Guide defines them ("IAM JSON policy elements: Condition operators",
"Single-valued vs. multivalued context keys", "IAM policy elements: Variables and tags").

Semantics (one clause = one operator, one key, its values; clauses of a statement are ANDed, the
values of one clause ORed):

* key absent from the request: a positive operator is false, a negated one (``StringNotEquals``,
  ``ArnNotLike``, ``NotIpAddress``...) true; ``...IfExists`` true; ``ForAllValues:`` true;
  ``ForAnyValue:`` false; ``Null`` tests exactly this.
* ``ForAnyValue:`` true when some request value matches some policy value (negated: some request
  value matches none); ``ForAllValues:`` when every request value does. Without a qualifier a
  multivalued key behaves as ``ForAnyValue`` for positive operators and as its negation for
  negated ones.
* policy variables (``${aws:username}``, ``${aws:PrincipalTag/team}``, ``${*}``...) are
  substituted in the values of String and ARN operators (version 2012-10-17 only); a variable the
  request lacks makes that value match nothing, unless it has a default (``${key, 'x'}``).
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from reslab.iam.wildcards import (
    LITERAL_ASTERISK,
    LITERAL_QUESTION,
    arn_matches,
    glob_match,
    plain,
)

Context = Mapping[str, tuple[str, ...]]  # condition key (lower case) -> values


@dataclass(frozen=True)
class ConditionClause:
    """One operator, one key, its values: ``{"StringEquals": {"aws:ResourceTag/x": ["a"]}}``."""

    operator: str
    key: str
    values: tuple[str, ...]


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _date(text: str) -> datetime | None:
    try:
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            return datetime.fromtimestamp(float(text), tz=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _numeric(test: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def compare(actual: str, wanted: str) -> bool:
        a, w = _number(actual), _number(wanted)
        return a is not None and w is not None and test(a, w)

    return compare


def _dated(test: Callable[[datetime, datetime], bool]) -> Callable[[str, str], bool]:
    def compare(actual: str, wanted: str) -> bool:
        a, w = _date(actual), _date(wanted)
        return a is not None and w is not None and test(a, w)

    return compare


def _ip(actual: str, wanted: str) -> bool:
    try:
        return ipaddress.ip_address(actual) in ipaddress.ip_network(wanted, strict=False)
    except ValueError:
        return False


def _binary(actual: str, wanted: str) -> bool:
    try:
        return base64.b64decode(actual, validate=True) == base64.b64decode(wanted, validate=True)
    except ValueError:
        return False


@dataclass(frozen=True)
class Operator:
    compare: Callable[[str, str], bool]  # (request value, policy value) -> the positive test
    negated: bool = False
    variables: bool = False  # policy variables are substituted in its values
    wildcards: bool = False  # its policy values are patterns (``*``/``?``)


_EQ = Operator(lambda a, w: a == w, variables=True)
_EQ_CI = Operator(lambda a, w: a.casefold() == w.casefold(), variables=True)
_LIKE = Operator(lambda a, w: glob_match(w, a), variables=True, wildcards=True)
_ARN = Operator(lambda a, w: arn_matches(w, a), variables=True, wildcards=True)

#: Every base operator (without ``...IfExists`` and set qualifiers).
OPERATORS: dict[str, Operator] = {
    "StringEquals": _EQ,
    "StringNotEquals": Operator(_EQ.compare, negated=True, variables=True),
    "StringEqualsIgnoreCase": _EQ_CI,
    "StringNotEqualsIgnoreCase": Operator(_EQ_CI.compare, negated=True, variables=True),
    "StringLike": _LIKE,
    "StringNotLike": Operator(_LIKE.compare, negated=True, variables=True, wildcards=True),
    "NumericEquals": Operator(_numeric(lambda a, w: a == w)),
    "NumericNotEquals": Operator(_numeric(lambda a, w: a == w), negated=True),
    "NumericLessThan": Operator(_numeric(lambda a, w: a < w)),
    "NumericLessThanEquals": Operator(_numeric(lambda a, w: a <= w)),
    "NumericGreaterThan": Operator(_numeric(lambda a, w: a > w)),
    "NumericGreaterThanEquals": Operator(_numeric(lambda a, w: a >= w)),
    "DateEquals": Operator(_dated(lambda a, w: a == w)),
    "DateNotEquals": Operator(_dated(lambda a, w: a == w), negated=True),
    "DateLessThan": Operator(_dated(lambda a, w: a < w)),
    "DateLessThanEquals": Operator(_dated(lambda a, w: a <= w)),
    "DateGreaterThan": Operator(_dated(lambda a, w: a > w)),
    "DateGreaterThanEquals": Operator(_dated(lambda a, w: a >= w)),
    "Bool": Operator(lambda a, w: a.lower() == w.lower()),
    "BinaryEquals": Operator(_binary),
    "IpAddress": Operator(_ip),
    "NotIpAddress": Operator(_ip, negated=True),
    "ArnEquals": _ARN,
    "ArnLike": _ARN,
    "ArnNotEquals": Operator(_ARN.compare, negated=True, variables=True, wildcards=True),
    "ArnNotLike": Operator(_ARN.compare, negated=True, variables=True, wildcards=True),
}
QUALIFIERS = ("ForAllValues:", "ForAnyValue:")
IF_EXISTS = "IfExists"


@dataclass(frozen=True)
class ParsedOperator:
    base: str  # a key of OPERATORS, or "Null"
    qualifier: str | None
    if_exists: bool


def parse_operator(name: str) -> ParsedOperator | None:
    """``ForAnyValue:StringLikeIfExists`` -> (StringLike, ForAnyValue:, True); None if unknown."""
    qualifier = next((q for q in QUALIFIERS if name.startswith(q)), None)
    rest = name[len(qualifier) :] if qualifier else name
    if rest == "Null":
        return ParsedOperator("Null", qualifier, False)
    if_exists = rest.endswith(IF_EXISTS)
    base = rest[: -len(IF_EXISTS)] if if_exists else rest
    return ParsedOperator(base, qualifier, if_exists) if base in OPERATORS else None


_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"^\s*([^,]+?)\s*,\s*'([^']*)'\s*$")
_SPECIAL = {"*": LITERAL_ASTERISK, "?": LITERAL_QUESTION, "$": "$"}


def substitute(text: str, context: Context) -> str | None:
    """Fill policy variables; None when one has no value (the value then matches nothing).

    ``${*}``, ``${?}`` stand for the literal characters; substituted values are literal too."""
    missing = False

    def fill(match: re.Match[str]) -> str:
        nonlocal missing
        inner = match[1]
        if inner in _SPECIAL:
            return _SPECIAL[inner]
        default = _DEFAULT.match(inner)
        key, fallback = (default[1], default[2]) if default else (inner.strip(), None)
        values = context.get(key.lower())
        if values and len(values) == 1:
            value = values[0]
        elif fallback is not None:
            value = fallback
        else:
            missing = True
            return ""
        return value.replace("*", LITERAL_ASTERISK).replace("?", LITERAL_QUESTION)

    filled = _VARIABLE.sub(fill, text)
    return None if missing else filled


def clause_holds(clause: ConditionClause, context: Context, variables: bool = True) -> bool:
    parsed = parse_operator(clause.operator)
    if parsed is None:
        raise ValueError(f"unknown condition operator {clause.operator}")
    present = context.get(clause.key.lower())
    if parsed.base == "Null":
        absent = not present
        return any((v.lower() == "true") == absent for v in clause.values)
    operator = OPERATORS[parsed.base]
    if not present:
        if parsed.qualifier == "ForAllValues:":
            return True
        if parsed.qualifier == "ForAnyValue:":
            return False
        return parsed.if_exists or operator.negated
    wanted: list[str] = []
    for value in clause.values:
        filled = substitute(value, context) if (variables and operator.variables) else value
        if filled is not None:
            wanted.append(filled if operator.wildcards else plain(filled))

    def matches(actual: str) -> bool:
        return any(operator.compare(actual, w) for w in wanted)

    if parsed.qualifier == "ForAllValues:":
        return all(matches(a) != operator.negated for a in present)
    if parsed.qualifier == "ForAnyValue:":
        return any(matches(a) != operator.negated for a in present)
    hit = any(matches(a) for a in present)
    return hit != operator.negated
