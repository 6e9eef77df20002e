"""Bucket policies: skip statements whose Condition moto cannot evaluate.

moto 5.2.5 evaluates bucket policies but ignores every ``Condition``, so the lab's TLS-only
statement (``Deny *`` when ``aws:SecureTransport`` is ``false``) denies *every* request to
the report and website buckets, TLS or not. The local cloud speaks plain HTTP on loopback and
stands in for AWS's TLS endpoints, so a conditional statement is treated as not matching.
Statements without a Condition (such as the failure-injection deny) are enforced as before.
"""

from __future__ import annotations

import json
from typing import Any

from moto.s3.models import FakeBucket

_INSTALLED = False


def unconditional_policy(policy: bytes | str) -> str:
    """The policy document without the statements that carry a Condition."""
    document = json.loads(policy)
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    document["Statement"] = [s for s in statements if "Condition" not in s]
    return json.dumps(document)


def install() -> None:
    global _INSTALLED
    if _INSTALLED:
        return
    _INSTALLED = True

    def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
        from moto.iam.access_control import IAMPolicy, PermissionResult

        if self.policy is None:
            return PermissionResult.NEUTRAL
        policy = self.policy.decode() if isinstance(self.policy, bytes) else self.policy
        return IAMPolicy(unconditional_policy(policy)).is_action_permitted(action, resource)

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]
