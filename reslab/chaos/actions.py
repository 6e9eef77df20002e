"""Actions: the changes each failure makes, named by what they do (chaostoolkit-aws style).

Each action returns the exact AWS API calls it will make (:class:`reslab.chaos.plan.Call`), so
``--dry-run`` prints precisely what a real run does; :func:`reslab.chaos.plan.run_calls` makes them.
Reverting actions read the current state first (they take a boto3 client) and return only the calls
still needed, so running them twice is harmless.
"""

from __future__ import annotations

import json
import random
from typing import Any

from reslab.chaos.lookups import bucket_policy_text, subnet_acl_associations
from reslab.chaos.plan import Call

DENY_SID = "ReslabInjectDenyRead"
#: Rule numbers of the deny-all entries: the lowest number wins, so these beat every allow.
DENY_RULES = (("0.0.0.0/0", "CidrBlock", 1), ("::/0", "Ipv6CidrBlock", 2))


def pick_random(items: list[str], count: int, rng: random.Random | None = None) -> list[str]:
    """``count`` distinct items chosen at random (all of them when fewer)."""
    rng = rng or random.SystemRandom()
    return sorted(rng.sample(sorted(items), min(count, len(items))))


# --- EC2 instances ----------------------------------------------------------------------------


def terminate_instances(instance_ids: list[str]) -> list[Call]:
    return [Call("ec2", "TerminateInstances", {"InstanceIds": sorted(instance_ids)})]


# --- AZ isolation -----------------------------------------------------------------------------


def create_deny_all_network_acl(
    vpc_id: str, tags: dict[str, str], save_as: str, ipv6: bool = False
) -> list[Call]:
    """A new network ACL in the VPC, deny-all in and out (IPv4, and IPv6 if used)."""
    calls = [
        Call(
            "ec2",
            "CreateNetworkAcl",
            {
                "VpcId": vpc_id,
                "TagSpecifications": [
                    {
                        "ResourceType": "network-acl",
                        "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())],
                    }
                ],
            },
            save=(save_as, ("NetworkAcl", "NetworkAclId")),
        )
    ]
    for cidr, cidr_param, rule in DENY_RULES[: 2 if ipv6 else 1]:
        for egress in (False, True):
            calls.append(
                Call(
                    "ec2",
                    "CreateNetworkAclEntry",
                    {
                        "NetworkAclId": "${" + save_as + "}",
                        "RuleNumber": rule,
                        "Protocol": "-1",
                        "RuleAction": "deny",
                        "Egress": egress,
                        cidr_param: cidr,
                    },
                )
            )
    return calls


def associate_network_acl(association_ids: dict[str, str], acl_id: str) -> list[Call]:
    """Move each subnet (given as subnet id -> its current association id) to ``acl_id``."""
    return [
        Call(
            "ec2",
            "ReplaceNetworkAclAssociation",
            {"AssociationId": association_ids[subnet], "NetworkAclId": acl_id},
        )
        for subnet in sorted(association_ids)
    ]


def restore_network_acl_associations(
    ec2: Any, previous: dict[str, str], ours: set[str]
) -> list[Call]:
    """Put back each subnet's previous ACL, only where it still points at one of ours."""
    current = subnet_acl_associations(ec2, sorted(previous))
    return [
        Call(
            "ec2",
            "ReplaceNetworkAclAssociation",
            {"AssociationId": current[subnet]["association"], "NetworkAclId": previous[subnet]},
        )
        for subnet in sorted(previous)
        if subnet in current and current[subnet]["acl"] in ours
    ]


def delete_network_acls(acl_ids: list[str]) -> list[Call]:
    return [Call("ec2", "DeleteNetworkAcl", {"NetworkAclId": a}) for a in sorted(acl_ids)]


# --- RDS --------------------------------------------------------------------------------------


def reboot_db_instance(identifier: str, force_failover: bool) -> list[Call]:
    params: dict[str, Any] = {"DBInstanceIdentifier": identifier}
    if force_failover:
        params["ForceFailover"] = True
    return [Call("rds", "RebootDBInstance", params)]


# --- S3 ---------------------------------------------------------------------------------------


def deny_read_statement(bucket: str, key_pattern: str) -> dict[str, Any]:
    return {
        "Sid": DENY_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/{key_pattern}",
    }


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    found = policy.get("Statement", [])
    return [found] if isinstance(found, dict) else list(found)


def has_deny_statement(policy_text: str | None) -> bool:
    return bool(policy_text) and any(
        s.get("Sid") == DENY_SID for s in statements(json.loads(str(policy_text)))
    )


def with_deny_statement(policy_text: str | None, statement: dict[str, Any]) -> str:
    """The policy with our statement appended (the existing statements untouched)."""
    policy = json.loads(policy_text) if policy_text else {"Version": "2012-10-17", "Statement": []}
    policy["Statement"] = [s for s in statements(policy) if s.get("Sid") != DENY_SID] + [statement]
    return json.dumps(policy)


def without_deny_statement(policy_text: str) -> dict[str, Any]:
    policy = dict(json.loads(policy_text))
    policy["Statement"] = [s for s in statements(policy) if s.get("Sid") != DENY_SID]
    return policy


def deny_object_reads(bucket: str, key_pattern: str, current_policy: str | None) -> list[Call]:
    merged = with_deny_statement(current_policy, deny_read_statement(bucket, key_pattern))
    return [Call("s3", "PutBucketPolicy", {"Bucket": bucket, "Policy": merged})]


def allow_object_reads(s3: Any, bucket: str, previous: str | None) -> list[Call]:
    """Remove only our statement: restore ``previous`` exactly when nothing else changed since,
    delete the policy when ours was all there was, else keep everyone else's statements."""
    current = bucket_policy_text(s3, bucket)
    if not has_deny_statement(current):
        return []
    remaining = without_deny_statement(str(current))
    if previous is not None and json.loads(previous) == remaining:
        return [Call("s3", "PutBucketPolicy", {"Bucket": bucket, "Policy": previous})]
    if not remaining["Statement"]:
        return [Call("s3", "DeleteBucketPolicy", {"Bucket": bucket})]
    return [Call("s3", "PutBucketPolicy", {"Bucket": bucket, "Policy": json.dumps(remaining)})]
