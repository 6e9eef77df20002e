"""Which lab to act on: connection (AWS or local cloud), stack outputs, the workshop-tag guard.

A lab is a region, a workshop tag and a stack prefix. The stacks are the rows of the stack table
(``cloudformation/stacks.json``, read by :mod:`reslab_lambda.stacks`): the prefix defaults to the
table's, and the suffixes below come from it. The look-ups of the lab's resources, each checked
against the workshop tag, are in :mod:`reslab.chaos.lookups`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import boto3
from botocore.exceptions import ClientError

from reslab.chaos.errors import LabResourceNotFound, NotLabResource
from reslab_lambda.stacks import default_stack_prefix, spec_for

WORKSHOP_TAG = "workshop"
OWNER_TAG = "reslab:owner"
DEFAULT_PREFIX = default_stack_prefix()
#: Stack suffixes (``<prefix><suffix>``) of the stacks whose outputs name the lab's resources.
VPC_STACK, STORAGE_STACK, DATABASE_STACK, REPLICA_STACK, WEB_STACK = (
    spec_for(key).suffix for key in ("vpc", "storage", "database", "replica", "web")
)
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # noqa: S105 - moto dummy


def resolve_endpoint(endpoint_url: str | None, local: bool) -> str | None:
    """The explicit endpoint, else (--local) a running local cloud, else None (AWS)."""
    if endpoint_url:
        return endpoint_url.rstrip("/")
    if not local:
        return None
    try:
        from reslab.localcloud import discover

        found = discover()
    except ImportError:  # local cloud package not installed
        found = None
    found = found or os.environ.get("AWS_ENDPOINT_URL")
    if not found:
        raise LabResourceNotFound(
            "--local: no running local cloud (start `reslab local up`) "
            "and AWS_ENDPOINT_URL is unset"
        )
    return found.rstrip("/")


def tags_to_dict(tags: list[dict[str, Any]] | None) -> dict[str, str]:
    """``[{"Key": k, "Value": v}]`` (any casing of the key names) -> ``{k: v}``."""
    out: dict[str, str] = {}
    for tag in tags or []:
        key = tag.get("Key", tag.get("key"))
        if key is not None:
            out[str(key)] = str(tag.get("Value", tag.get("value", "")))
    return out


@dataclass
class Lab:
    """One deployed lab: region + workshop tag + stack prefix, on AWS or a local endpoint."""

    region: str
    workshop: str
    stack_prefix: str = DEFAULT_PREFIX
    endpoint_url: str | None = None
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    @property
    def local(self) -> bool:
        return self.endpoint_url is not None

    @cached_property
    def session(self) -> boto3.session.Session:
        if self.local and not (
            os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")
        ):
            return boto3.session.Session(region_name=self.region, **LOCAL_CREDENTIALS)
        return boto3.session.Session(region_name=self.region)

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region)
        if key not in self._clients:
            self._clients[key] = self.session.client(
                service, region_name=key[1], endpoint_url=self.endpoint_url
            )
        return self._clients[key]

    def stack_name(self, suffix: str) -> str:
        return f"{self.stack_prefix}{suffix}"

    def stack_outputs(self, suffix: str, region: str | None = None) -> dict[str, str]:
        """Outputs of ``<prefix><suffix>``; {} when the stack does not exist."""
        try:
            stacks = self.client("cloudformation", region).describe_stacks(
                StackName=self.stack_name(suffix)
            )["Stacks"]
        except ClientError:
            return {}
        return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}

    def output(self, suffix: str, key: str, region: str | None = None) -> str | None:
        return self.stack_outputs(suffix, region).get(key) or None

    def is_lab(self, tags: dict[str, str]) -> bool:
        return tags.get(WORKSHOP_TAG) == self.workshop

    def refuse(self, kind: str, resource_id: str, tags: dict[str, str]) -> NotLabResource:
        found = tags.get(WORKSHOP_TAG)
        why = f"its workshop tag is {found!r}" if found else "it has no workshop tag"
        return NotLabResource(
            f"{kind} {resource_id} in {self.region} is not part of lab {self.workshop!r} ({why}); "
            "refusing to touch it"
        )
