"""``reslab sweep``: find everything still tagged ``workshop=<W>`` and delete it in a safe order.

One row of :data:`KINDS` per resource kind: how to find the tagged ones in a region and how to
delete one. ``delete`` walks the kinds in table order and looks each kind up again right before
deleting it (a stack's deletion can leave a final snapshot behind). The resource groups tagging
API is asked too; tagged ARNs no kind claims are reported as ``other`` (never deleted).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from rich.table import Table

from reslab.clients import ClientFactory
from reslab.errors import ReslabError
from reslab_lambda.cfn import empty_bucket, stack_buckets, stack_resources
from reslab_lambda.handoff import PARAMETER_ROOT as AWAIT_ROOT
from reslab_lambda.stacks import deploy_levels

Say = Callable[[str], None]
WORKSHOP_TAG = "workshop"
TEMP_TAG = "reslab:temporary"
OWNER_TAG = "reslab:owner"
GLOBAL = "global"
LIVE_INSTANCE_STATES = ("pending", "running", "stopping", "stopped")
KMS_PENDING_DAYS = 7


class SweepIncomplete(ReslabError):
    """``sweep --delete`` could not delete everything (the message names the first failures)."""


@dataclass(frozen=True)
class Found:
    kind: str
    region: str
    id: str
    arn: str = ""
    detail: str = ""
    #: Log group name prefixes that belong to this resource (Lambda / RDS logs are untagged).
    log_prefixes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("log_prefixes")
        return data


def _tags(items: Iterable[dict[str, Any]] | None, key: str = "Key", value: str = "Value") -> dict:
    return {t[key]: t[value] for t in items or []}


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


# --- finders ----------------------------------------------------------------------------------
def find_acls(clients: ClientFactory, region: str, w: str, _hints: Hints) -> list[Found]:
    ec2 = clients("ec2", region)
    acls = ec2.describe_network_acls(Filters=[{"Name": f"tag:{WORKSHOP_TAG}", "Values": [w]}])
    return [
        Found(
            "network-acl",
            region,
            a["NetworkAclId"],
            detail=f"{OWNER_TAG}="
            f"{_tags(a.get('Tags')).get(OWNER_TAG, '-')}, {len(a.get('Associations', []))} "
            "subnet(s)",
        )
        for a in acls["NetworkAcls"]
        if not a.get("IsDefault")
    ]


def find_machines(clients: ClientFactory, region: str, w: str, _hints: Hints) -> list[Found]:
    sfn = clients("stepfunctions", region)
    found = []
    for machine in _pages(sfn, "list_state_machines", "stateMachines"):
        arn = machine["stateMachineArn"]
        tags = _tags(sfn.list_tags_for_resource(resourceArn=arn)["tags"], "key", "value")
        if tags.get(WORKSHOP_TAG) == w:
            found.append(Found("state-machine", region, machine["name"], arn))
    return found


def find_schedule_groups(clients: ClientFactory, region: str, w: str, _hints: Hints) -> list[Found]:
    scheduler = clients("scheduler", region)
    found = []
    for group in _pages(scheduler, "list_schedule_groups", "ScheduleGroups"):
        if group["Name"] == "default":
            continue
        tags = _tags(scheduler.list_tags_for_resource(ResourceArn=group["Arn"])["Tags"])
        if tags.get(WORKSHOP_TAG) == w:
            found.append(Found("schedule-group", region, group["Name"], group["Arn"]))
    return found


def find_await_tokens(clients: ClientFactory, region: str, w: str, _hints: Hints) -> list[Found]:
    """Task tokens a deploy or teardown stored and nobody answered (``reslab_lambda.handoff``)."""
    ssm = clients("ssm", region)
    filters = [{"Key": "Path", "Option": "Recursive", "Values": [AWAIT_ROOT.rstrip("/")]}]
    found = []
    for parameter in _pages(ssm, "describe_parameters", "Parameters", ParameterFilters=filters):
        name = parameter["Name"]
        tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
        if _tags(tags).get(WORKSHOP_TAG) == w:
            found.append(Found("await-token", region, name, parameter.get("ARN", "")))
    return found


def find_event_rules(clients: ClientFactory, region: str, w: str, _hints: Hints) -> list[Found]:
    """The rules forwarding the lab's stack events to the deploy's region."""
    events = clients("events", region)
    found = []
    for rule in _pages(events, "list_rules", "Rules"):
        tags = events.list_tags_for_resource(ResourceARN=rule["Arn"])["Tags"]
        if _tags(tags).get(WORKSHOP_TAG) == w:
            found.append(Found("event-rule", region, rule["Name"], rule["Arn"]))
    return found


def delete_await_token(clients: ClientFactory, f: Found, _poll: float) -> None:
    clients("ssm", f.region).delete_parameter(Name=f.id)


def delete_event_rule(clients: ClientFactory, f: Found, _poll: float) -> None:
    events = clients("events", f.region)
    targets = events.list_targets_by_rule(Rule=f.id)["Targets"]
    if targets:
        events.remove_targets(Rule=f.id, Ids=[t["Id"] for t in targets])
    events.delete_rule(Name=f.id)


#: An output only the installer stack has: it holds the role the lab's stacks are deleted with.
INSTALLER_OUTPUT = "CloudFormationRoleArn"
INSTALLER_DETAIL = "installer"


def _stack_detail(stack: dict[str, Any]) -> str:
    outputs = {o.get("OutputKey") for o in stack.get("Outputs") or []}
    installer = f", {INSTALLER_DETAIL}" if INSTALLER_OUTPUT in outputs else ""
    return f"{stack['StackStatus']}{installer}"


def find_stacks(clients: ClientFactory, region: str, w: str, _hints: Hints) -> list[Found]:
    cfn = clients("cloudformation", region)
    return [
        Found("stack", region, s["StackName"], s["StackId"], _stack_detail(s))
        for s in _pages(cfn, "describe_stacks", "Stacks")
        if _tags(s.get("Tags")).get(WORKSHOP_TAG) == w and s["StackStatus"] != "DELETE_COMPLETE"
    ]


def find_instances(clients: ClientFactory, region: str, w: str, _hints: Hints) -> list[Found]:
    rds = clients("rds", region)
    found = []
    for db in _pages(rds, "describe_db_instances", "DBInstances"):
        tags = _tags(db.get("TagList"))
        if tags.get(WORKSHOP_TAG) != w or db.get("DBInstanceStatus") == "deleting":
            continue
        ident = db["DBInstanceIdentifier"]
        temp = "temporary restore, " if tags.get(TEMP_TAG) == "true" else ""
        found.append(
            Found(
                "rds-instance",
                region,
                ident,
                db.get("DBInstanceArn", ""),
                f"{temp}{db.get('DBInstanceStatus', '')}",
                (f"/aws/rds/instance/{ident}/",),
            )
        )
    # temporary restored instances first: they hang off the lab's snapshots
    return sorted(found, key=lambda f: not f.detail.startswith("temporary"))


def find_ec2_instances(clients: ClientFactory, region: str, w: str, _hints: Hints) -> list[Found]:
    ec2 = clients("ec2", region)
    filters = [
        {"Name": f"tag:{WORKSHOP_TAG}", "Values": [w]},
        {"Name": "instance-state-name", "Values": list(LIVE_INSTANCE_STATES)},
    ]
    return [
        Found("ec2-instance", region, i["InstanceId"], detail=i["State"]["Name"])
        for r in ec2.describe_instances(Filters=filters)["Reservations"]
        for i in r["Instances"]
    ]


def find_nat_gateways(clients: ClientFactory, region: str, w: str, _hints: Hints) -> list[Found]:
    ec2 = clients("ec2", region)
    filters = [{"Name": f"tag:{WORKSHOP_TAG}", "Values": [w]}]
    return [
        Found("nat-gateway", region, n["NatGatewayId"], detail=n.get("State", ""))
        for n in ec2.describe_nat_gateways(Filters=filters).get("NatGateways", [])
        if n.get("State") not in ("deleted", "deleting")
        # its own tag as well: an API that dropped the filter must not hand us another lab's
        and _tags(n.get("Tags")).get(WORKSHOP_TAG) == w
    ]


def find_addresses(clients: ClientFactory, region: str, w: str, _hints: Hints) -> list[Found]:
    ec2 = clients("ec2", region)
    filters = [{"Name": f"tag:{WORKSHOP_TAG}", "Values": [w]}]
    return [
        Found("elastic-ip", region, a["AllocationId"], detail=a.get("PublicIp", ""))
        for a in ec2.describe_addresses(Filters=filters)["Addresses"]
    ]


def find_snapshots(clients: ClientFactory, region: str, w: str, _hints: Hints) -> list[Found]:
    rds = clients("rds", region)
    return [
        Found(
            "rds-snapshot",
            region,
            s["DBSnapshotIdentifier"],
            s.get("DBSnapshotArn", ""),
            f"of {s.get('DBInstanceIdentifier', '?')}",
        )
        for s in _pages(rds, "describe_db_snapshots", "DBSnapshots", SnapshotType="manual")
        if _tags(s.get("TagList")).get(WORKSHOP_TAG) == w
    ]


def find_enis(clients: ClientFactory, region: str, w: str, _hints: Hints) -> list[Found]:
    ec2 = clients("ec2", region)
    enis = ec2.describe_network_interfaces(
        Filters=[{"Name": f"tag:{WORKSHOP_TAG}", "Values": [w]}]
    )["NetworkInterfaces"]
    return [
        Found("network-interface", region, e["NetworkInterfaceId"], detail=e.get("Status", ""))
        for e in enis
    ]


def find_buckets(clients: ClientFactory, region: str, w: str, _hints: Hints) -> list[Found]:
    s3 = clients("s3", region)
    found = []
    for bucket in s3.list_buckets().get("Buckets", []):
        name = bucket["Name"]
        try:
            tags = _tags(s3.get_bucket_tagging(Bucket=name)["TagSet"])
            where = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
        except ClientError:  # NoSuchTagSet, or gone meanwhile
            continue
        if tags.get(WORKSHOP_TAG) == w:
            found.append(Found("s3-bucket", where, name, f"arn:aws:s3:::{name}"))
    return found


def find_functions(clients: ClientFactory, region: str, w: str, _hints: Hints) -> list[Found]:
    lam = clients("lambda", region)
    found = []
    for fn in _pages(lam, "list_functions", "Functions"):
        tags = lam.list_tags(Resource=fn["FunctionArn"]).get("Tags", {})
        if tags.get(WORKSHOP_TAG) == w:
            name = fn["FunctionName"]
            found.append(
                Found(
                    "lambda",
                    region,
                    name,
                    fn["FunctionArn"],
                    fn.get("Runtime", ""),
                    (f"/aws/lambda/{name}",),
                )
            )
    return found


def find_log_groups(clients: ClientFactory, region: str, w: str, hints: Hints) -> list[Found]:
    logs = clients("logs", region)
    prefixes = tuple(p for f in hints.seen if f.region == region for p in f.log_prefixes)
    found = []
    for group in _pages(logs, "describe_log_groups", "logGroups"):
        name = group["logGroupName"]
        if name.startswith(prefixes) if prefixes else False:
            found.append(Found("log-group", region, name, detail="logs of a swept resource"))
            continue
        tags = logs.list_tags_log_group(logGroupName=name).get("tags", {})
        if tags.get(WORKSHOP_TAG) == w:
            found.append(Found("log-group", region, name))
    return found


def find_roles(clients: ClientFactory, region: str, w: str, _hints: Hints) -> list[Found]:
    iam = clients("iam", region)
    found = []
    for role in _pages(iam, "list_roles", "Roles"):
        tags = _tags(iam.list_role_tags(RoleName=role["RoleName"]).get("Tags"))
        if tags.get(WORKSHOP_TAG) == w:
            found.append(Found("iam-role", GLOBAL, role["RoleName"], role["Arn"]))
    return found


def find_secrets(clients: ClientFactory, region: str, w: str, _hints: Hints) -> list[Found]:
    sm = clients("secretsmanager", region)
    return [
        Found("secret", region, s["Name"], s["ARN"])
        for s in _pages(sm, "list_secrets", "SecretList")
        if _tags(s.get("Tags")).get(WORKSHOP_TAG) == w
        and not s.get("OwningService")
        and not s.get("DeletedDate")
    ]


def find_keys(clients: ClientFactory, region: str, w: str, _hints: Hints) -> list[Found]:
    kms = clients("kms", region)
    found = []
    for key in _pages(kms, "list_keys", "Keys"):
        meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        if meta.get("KeyManager") == "AWS" or meta.get("KeyState") in ("PendingDeletion",):
            continue
        tags = _tags(kms.list_resource_tags(KeyId=key["KeyId"]).get("Tags"), "TagKey", "TagValue")
        if tags.get(WORKSHOP_TAG) == w:
            found.append(
                Found(
                    "kms-key",
                    region,
                    key["KeyId"],
                    key["KeyArn"],
                    f"deletion scheduled in {KMS_PENDING_DAYS} days when swept",
                )
            )
    return found


def _dms_tagged(
    clients: ClientFactory, region: str, w: str, operation: str, key: str, arn_key: str
) -> list[dict[str, Any]]:
    dms = clients("dms", region)
    found = []
    for item in _pages(dms, operation, key):
        tags = _tags(dms.list_tags_for_resource(ResourceArn=item[arn_key]).get("TagList"))
        if tags.get(WORKSHOP_TAG) == w:
            found.append(item)
    return found


def _dms_finder(
    kind: str, operation: str, key: str, name: str, ident: str, status: str, detail: str
) -> Finder:
    """Tagged DMS resources of one kind: ``<name>Arn``, ``<name>Identifier`` (``ident``),
    the field holding their status and the one shown as detail."""

    def find_kind(clients: ClientFactory, region: str, w: str, _hints: Hints) -> list[Found]:
        return [
            Found(kind, region, item[ident], item[f"{name}Arn"], str(item.get(detail, "")))
            for item in _dms_tagged(clients, region, w, operation, key, f"{name}Arn")
            if item.get(status) != "deleting"
        ]

    return find_kind


find_dms_tasks = _dms_finder(
    "dms-task", "describe_replication_tasks", "ReplicationTasks", "ReplicationTask",
    "ReplicationTaskIdentifier", "Status", "Status",
)  # fmt: skip
find_dms_endpoints = _dms_finder(
    "dms-endpoint", "describe_endpoints", "Endpoints", "Endpoint",
    "EndpointIdentifier", "Status", "EndpointType",
)  # fmt: skip
find_dms_instances = _dms_finder(
    "dms-replication-instance", "describe_replication_instances", "ReplicationInstances",
    "ReplicationInstance", "ReplicationInstanceIdentifier", "ReplicationInstanceStatus",
    "ReplicationInstanceClass",
)  # fmt: skip


def find_dms_subnet_groups(
    clients: ClientFactory, region: str, w: str, _hints: Hints
) -> list[Found]:
    dms = clients("dms", region)
    found = []
    for group in _pages(dms, "describe_replication_subnet_groups", "ReplicationSubnetGroups"):
        ident = group["ReplicationSubnetGroupIdentifier"]
        arn = group.get("ReplicationSubnetGroupArn") or (
            f"arn:aws:dms:{region}:{_account(clients, region)}:subgrp:{ident}"
        )
        tags = _tags(dms.list_tags_for_resource(ResourceArn=arn).get("TagList"))
        if tags.get(WORKSHOP_TAG) == w:
            found.append(Found("dms-subnet-group", region, ident, arn))
    return found


def _account(clients: ClientFactory, region: str) -> str:
    return str(clients("sts", region).get_caller_identity()["Account"])


# --- deleters ---------------------------------------------------------------------------------
def stop_dms_task(dms: Any, arn: str, poll: float) -> None:
    """Stop a running replication task and wait until it is stopped (nothing deletes a running
    task: neither DeleteReplicationTask nor CloudFormation)."""
    from reslab_lambda.replication import describe_task

    task = describe_task(dms, arn)
    if task is None or task["Status"] not in ("running", "starting", "stopping"):
        return
    if task["Status"] != "stopping":
        dms.stop_replication_task(ReplicationTaskArn=arn)
    _wait(
        lambda: (describe_task(dms, arn) or {}).get("Status") not in ("running", "stopping"),
        poll,
        f"replication task {arn} to stop",
    )


def delete_dms_task(clients: ClientFactory, f: Found, poll: float) -> None:
    from reslab_lambda.replication import describe_task

    dms = clients("dms", f.region)
    stop_dms_task(dms, f.arn, poll)
    dms.delete_replication_task(ReplicationTaskArn=f.arn)
    _wait(lambda: describe_task(dms, f.arn) is None, poll, f"replication task {f.id}")


def delete_dms_endpoint(clients: ClientFactory, f: Found, _poll: float) -> None:
    clients("dms", f.region).delete_endpoint(EndpointArn=f.arn)


def delete_dms_instance(clients: ClientFactory, f: Found, poll: float) -> None:
    dms = clients("dms", f.region)
    dms.delete_replication_instance(ReplicationInstanceArn=f.arn)

    def gone() -> bool:
        filters = [{"Name": "replication-instance-arn", "Values": [f.arn]}]
        try:
            return not dms.describe_replication_instances(Filters=filters)["ReplicationInstances"]
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundFault":
                return True
            raise

    _wait(gone, poll, f"replication instance {f.id}")


def delete_dms_subnet_group(clients: ClientFactory, f: Found, _poll: float) -> None:
    clients("dms", f.region).delete_replication_subnet_group(ReplicationSubnetGroupIdentifier=f.id)


def delete_acl(clients: ClientFactory, f: Found, _poll: float) -> None:
    ec2 = clients("ec2", f.region)
    acl = ec2.describe_network_acls(NetworkAclIds=[f.id])["NetworkAcls"][0]
    default = ec2.describe_network_acls(
        Filters=[
            {"Name": "vpc-id", "Values": [acl["VpcId"]]},
            {"Name": "default", "Values": ["true"]},
        ]
    )["NetworkAcls"][0]["NetworkAclId"]
    for assoc in acl.get("Associations", []):  # give the subnets back to the default ACL
        ec2.replace_network_acl_association(
            AssociationId=assoc["NetworkAclAssociationId"], NetworkAclId=default
        )
    ec2.delete_network_acl(NetworkAclId=f.id)


def delete_machine(clients: ClientFactory, f: Found, _poll: float) -> None:
    clients("stepfunctions", f.region).delete_state_machine(stateMachineArn=f.arn)


def delete_schedule_group(clients: ClientFactory, f: Found, _poll: float) -> None:
    """Deleting a group deletes the schedules in it."""
    clients("scheduler", f.region).delete_schedule_group(Name=f.id)


def delete_stack(clients: ClientFactory, f: Found, poll: float) -> None:
    cfn = clients("cloudformation", f.region)
    s3 = clients("s3", f.region)
    for task in stack_resources(cfn, f.arn, "AWS::DMS::ReplicationTask"):  # nor running tasks
        stop_dms_task(clients("dms", f.region), task, poll)
    for bucket in stack_buckets(cfn, f.arn):  # CloudFormation cannot delete non-empty buckets
        try:
            empty_bucket(s3, bucket)
        except ClientError as exc:
            if _code(exc) != "NoSuchBucket":
                raise
    cfn.delete_stack(StackName=f.arn)
    _wait(lambda: _stack_gone(cfn, f.arn), poll, f"stack {f.id}")


def _stack_gone(cfn: Any, stack_id: str) -> bool:
    try:
        status = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return True
        raise
    if status == "DELETE_FAILED":
        raise SweepIncomplete(f"stack {stack_id} is DELETE_FAILED")
    return status == "DELETE_COMPLETE"


def delete_instance(clients: ClientFactory, f: Found, poll: float) -> None:
    rds = clients("rds", f.region)
    with contextlib.suppress(ClientError):  # not supported / already off
        rds.modify_db_instance(
            DBInstanceIdentifier=f.id, DeletionProtection=False, ApplyImmediately=True
        )
    rds.delete_db_instance(
        DBInstanceIdentifier=f.id, SkipFinalSnapshot=True, DeleteAutomatedBackups=True
    )
    _wait(lambda: _instance_gone(rds, f.id), poll, f"DB instance {f.id}")


def _instance_gone(rds: Any, ident: str) -> bool:
    try:
        rds.describe_db_instances(DBInstanceIdentifier=ident)
    except ClientError as exc:
        if _code(exc) == "DBInstanceNotFound":
            return True
        raise
    return False


def delete_ec2_instance(clients: ClientFactory, f: Found, _poll: float) -> None:
    clients("ec2", f.region).terminate_instances(InstanceIds=[f.id])


def delete_nat_gateway(clients: ClientFactory, f: Found, poll: float) -> None:
    ec2 = clients("ec2", f.region)
    ec2.delete_nat_gateway(NatGatewayId=f.id)

    def gone() -> bool:
        gateways = ec2.describe_nat_gateways(NatGatewayIds=[f.id]).get("NatGateways", [])
        return all(n.get("State") == "deleted" for n in gateways)

    _wait(gone, poll, f"NAT gateway {f.id}")  # its Elastic IP is released next


def delete_address(clients: ClientFactory, f: Found, _poll: float) -> None:
    ec2 = clients("ec2", f.region)
    address = ec2.describe_addresses(AllocationIds=[f.id])["Addresses"][0]
    if address.get("AssociationId"):
        ec2.disassociate_address(AssociationId=address["AssociationId"])
    ec2.release_address(AllocationId=f.id)


def delete_snapshot(clients: ClientFactory, f: Found, _poll: float) -> None:
    clients("rds", f.region).delete_db_snapshot(DBSnapshotIdentifier=f.id)


def delete_eni(clients: ClientFactory, f: Found, _poll: float) -> None:
    ec2 = clients("ec2", f.region)
    eni = ec2.describe_network_interfaces(NetworkInterfaceIds=[f.id])["NetworkInterfaces"][0]
    attachment = eni.get("Attachment") or {}
    if attachment.get("AttachmentId"):
        ec2.detach_network_interface(AttachmentId=attachment["AttachmentId"], Force=True)
    ec2.delete_network_interface(NetworkInterfaceId=f.id)


def delete_bucket(clients: ClientFactory, f: Found, _poll: float) -> None:
    s3 = clients("s3", f.region)
    empty_bucket(s3, f.id)  # every version and delete marker
    s3.delete_bucket(Bucket=f.id)


def delete_function(clients: ClientFactory, f: Found, _poll: float) -> None:
    clients("lambda", f.region).delete_function(FunctionName=f.id)


def delete_log_group(clients: ClientFactory, f: Found, _poll: float) -> None:
    clients("logs", f.region).delete_log_group(logGroupName=f.id)


def delete_role(clients: ClientFactory, f: Found, _poll: float) -> None:
    iam = clients("iam", "us-east-1")
    for name in iam.list_role_policies(RoleName=f.id)["PolicyNames"]:
        iam.delete_role_policy(RoleName=f.id, PolicyName=name)
    for policy in iam.list_attached_role_policies(RoleName=f.id)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=f.id, PolicyArn=policy["PolicyArn"])
    for profile in iam.list_instance_profiles_for_role(RoleName=f.id)["InstanceProfiles"]:
        iam.remove_role_from_instance_profile(
            InstanceProfileName=profile["InstanceProfileName"], RoleName=f.id
        )
    iam.delete_role(RoleName=f.id)


def delete_secret(clients: ClientFactory, f: Found, _poll: float) -> None:
    clients("secretsmanager", f.region).delete_secret(
        SecretId=f.arn, ForceDeleteWithoutRecovery=True
    )


def delete_key(clients: ClientFactory, f: Found, _poll: float) -> None:
    clients("kms", f.region).schedule_key_deletion(KeyId=f.id, PendingWindowInDays=KMS_PENDING_DAYS)


def _wait(done: Callable[[], bool], poll: float, what: str, attempts: int = 240) -> None:
    for _ in range(attempts):
        if done():
            return
        time.sleep(poll)
    raise SweepIncomplete(f"{what} still exists after {attempts * poll:.0f}s")


# --- the table --------------------------------------------------------------------------------
@dataclass
class Hints:
    """What earlier kinds found (their log groups are swept with them)."""

    seen: list[Found] = field(default_factory=list)


Finder = Callable[[ClientFactory, str, str, Hints], list[Found]]
Deleter = Callable[[ClientFactory, Found, float], None]


@dataclass(frozen=True)
class Kind:
    name: str
    find: Finder
    delete: Deleter
    is_global: bool = False


#: Deletion order: injected ACLs (give subnets back) -> machines (nothing restarts a deploy) ->
#: stacks (reverse dependency order; a stack's running DMS task is stopped first) -> the rules
#: forwarding stack events and unanswered task tokens -> DMS tasks (stopped first), endpoints,
#: replication instances, subnet groups, instances, NAT gateways,
#: EIPs a failed stack delete left -> databases (temporary restores first) -> snapshots ->
#: ENIs -> buckets -> Lambdas' + RDS log groups -> Lambdas -> roles -> secrets -> KMS keys.
KINDS: tuple[Kind, ...] = (
    Kind("network-acl", find_acls, delete_acl),
    Kind("schedule-group", find_schedule_groups, delete_schedule_group),
    Kind("state-machine", find_machines, delete_machine),
    Kind("stack", find_stacks, delete_stack),
    Kind("event-rule", find_event_rules, delete_event_rule),
    Kind("await-token", find_await_tokens, delete_await_token),
    Kind("dms-task", find_dms_tasks, delete_dms_task),
    Kind("dms-endpoint", find_dms_endpoints, delete_dms_endpoint),
    Kind("dms-replication-instance", find_dms_instances, delete_dms_instance),
    Kind("dms-subnet-group", find_dms_subnet_groups, delete_dms_subnet_group),
    Kind("ec2-instance", find_ec2_instances, delete_ec2_instance),
    Kind("nat-gateway", find_nat_gateways, delete_nat_gateway),
    Kind("elastic-ip", find_addresses, delete_address),
    Kind("rds-instance", find_instances, delete_instance),
    Kind("rds-snapshot", find_snapshots, delete_snapshot),
    Kind("network-interface", find_enis, delete_eni),
    Kind("s3-bucket", find_buckets, delete_bucket, is_global=True),
    Kind("lambda", find_functions, delete_function),
    Kind("log-group", find_log_groups, delete_log_group),
    Kind("iam-role", find_roles, delete_role, is_global=True),
    Kind("secret", find_secrets, delete_secret),
    Kind("kms-key", find_keys, delete_key),
)
KINDS_BY_NAME = {k.name: k for k in KINDS}


def _stack_rank(found: Found) -> int:
    """Dependents first: Web/Replica, then Database, then VPC/Storage; unknown stacks first; the
    installer stack last (CloudFormation deletes the lab's stacks with its service role)."""
    if found.detail.endswith(INSTALLER_DETAIL):
        return 1
    for level, specs in enumerate(deploy_levels()):
        if any(found.id.endswith(spec.suffix) for spec in specs):
            return -level
    return -99


def find_kind(
    clients: ClientFactory, kind: Kind, workshop: str, regions: list[str], hints: Hints
) -> list[Found]:
    found: list[Found] = []
    for region in regions[:1] if kind.is_global else regions:
        found.extend(kind.find(clients, region, workshop, hints))
    if kind.name == "stack":
        found.sort(key=_stack_rank)
    hints.seen.extend(found)
    return found


def find_tagged_arns(clients: ClientFactory, workshop: str, region: str) -> list[str]:
    api = clients("resourcegroupstaggingapi", region)
    filters = [{"Key": WORKSHOP_TAG, "Values": [workshop]}]
    return [
        r["ResourceARN"]
        for r in _pages(api, "get_resources", "ResourceTagMappingList", TagFilters=filters)
    ]


def find(clients: ClientFactory, workshop: str, regions: list[str]) -> list[Found]:
    """Everything tagged with the workshop, in deletion order (+ unclaimed ARNs as ``other``)."""
    hints = Hints()
    found = [f for kind in KINDS for f in find_kind(clients, kind, workshop, regions, hints)]
    claimed = {f.arn for f in found} | {f.id for f in found}
    for region in regions:
        try:
            arns = find_tagged_arns(clients, workshop, region)
        except ClientError:
            continue  # the tagging API is not everywhere; per-service calls above are
        for arn in arns:
            tail = arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
            if arn not in claimed and tail not in claimed and not _transient(arn):
                found.append(Found("other", region, tail, arn, no_deleter(arn)))
                claimed.add(arn)
    return found


#: ARN fragments of the types a kind above looks after (its finder knows live from dead: a
#: terminated instance or a key pending deletion is still listed by the tagging API).
COVERED_ARNS = (
    ":execution:",
    ":network-acl/",
    ":stateMachine:",
    ":stack/",
    ":instance/",
    ":natgateway/",
    ":elastic-ip/",
    ":db:",
    ":snapshot:",
    ":network-interface/",
    "arn:aws:s3:::",
    ":function:",
    ":log-group:",
    ":role/",
    ":secret:",
    ":key/",
    ":task:",
    ":endpoint:",
    ":rep:",
    ":subgrp:",
    ":rule/",
    ":parameter/reslab/await/",
)


def no_deleter(arn: str) -> str:
    service = arn.split(":")[2] if arn.count(":") >= 2 else "?"
    return f"kept: sweep has no row for {service} resources of this type (delete it by hand)"


def why_kept(item: Found, failures: list[str]) -> str:
    """Why a resource still tagged after ``delete`` was not removed (one line)."""
    if item.kind == "other":
        return item.detail
    for failure in failures:
        if failure.startswith(f"{item.kind} {item.id} ({item.region}):"):
            return "its delete call failed: " + failure.split("): ", 1)[-1]
    if item.kind in KINDS_BY_NAME:
        return (
            f"still listed after its delete call ({item.detail or 'no detail'}): deletion in "
            "progress, or something recreated it; rerun `reslab sweep --delete` later"
        )
    return "unknown kind"


def _transient(arn: str) -> bool:
    return any(fragment in arn for fragment in COVERED_ARNS)


@dataclass
class DeleteReport:
    deleted: int = 0
    failures: list[str] = field(default_factory=list)


def delete(
    clients: ClientFactory, workshop: str, regions: list[str], say: Say, poll: float = 5.0
) -> DeleteReport:
    """Delete kind by kind (each looked up again just before); a failure is recorded, not fatal."""
    report, hints = DeleteReport(), Hints()
    for kind in KINDS:
        for item in find_kind(clients, kind, workshop, regions, hints):
            try:
                kind.delete(clients, item, poll)
            except (ClientError, SweepIncomplete) as exc:
                report.failures.append(f"{kind.name} {item.id} ({item.region}): {exc}")
                say(f"FAILED {kind.name} {item.id} ({item.region}): {exc}")
                continue
            report.deleted += 1
            say(f"deleted {kind.name} {item.id} ({item.region})")
    return report


def table(found: list[Found], workshop: str) -> Table:
    out = Table(title=f"tagged workshop={workshop}: {len(found)} resource(s)")
    for column in ("kind", "region", "id", "detail"):
        out.add_column(column)
    for f in found:
        out.add_row(f.kind, f.region, f.id, f.detail)
    return out
