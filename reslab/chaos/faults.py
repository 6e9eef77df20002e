"""The failure modes: one row each in :data:`FAULTS`, the one definition every other part walks.

A :class:`Fault` row says what the failure does and to what, how it is undone, which options
``reslab inject <fault>`` takes (``flags``: :class:`Options` fields, plus ``duration`` for a
failure we revert), how the runner carries it out, and which AWS FIS template is its twin:

* ``plan``: find the lab's resources, check their workshop tag, return the exact calls (changes
  nothing);
* ``revert``: from a journal entry, the calls still needed to undo it (empty when already undone);
  None: the failure is not reverted by us;
* ``observe``: a probe reported before and after;
* ``default_duration``: how long a reverted failure is held by default;
* ``fis_template``: its builder in :mod:`reslab.chaos.fis_templates`.

The CLI (``reslab.cli.inject_cmds``), the FIS export (:mod:`reslab.chaos.fis`) and the fault
table in docs/lab-guide.md (:mod:`reslab.chaos.fault_docs`) are generated from these rows.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, get_type_hints

from reslab.chaos import actions
from reslab.chaos.errors import AlreadyInjected, LabResourceNotFound, NothingToInject
from reslab.chaos.fis_templates import (
    Settings,
    az_template,
    instance_template,
    rds_template,
    region_template,
    s3_template,
)
from reslab.chaos.journal import Entry
from reslab.chaos.lab import OWNER_TAG, WORKSHOP_TAG, Lab
from reslab.chaos.lookups import (
    bucket_policy_text,
    db_instance,
    describe_in_service_instances,
    instance_tags,
    lab_subnets,
    network_acls_owned_by,
    replica_lag_seconds,
    require_asg,
    require_bucket,
    require_db,
    subnet_acl_associations,
)
from reslab.chaos.plan import Call, Plan

DEFAULT_DURATION_S = 300.0
#: The flag of a reverted failure's hold (not an :class:`Options` field: the runner takes it).
DURATION = "duration"
DURATION_HELP = "seconds before reverting by itself (0: leave it for `recover`)"


def _option(default: Any, help_text: str, minimum: int | None = None) -> Any:
    return field(default=default, metadata={"help": help_text, "min": minimum})


@dataclass
class Options:
    """What one injection aims at. Each field is the option ``--<field>`` of the faults that
    list it in their ``flags``; its default and help text are the option's."""

    count: int = _option(1, "instances to terminate", minimum=1)
    az: str | None = _option(None, "zone to isolate (random lab AZ)")
    replica: bool = _option(False, "report read-replica lag before/after")
    replica_region: str | None = _option(None, "(--region)")
    key: str = _option("*", "object key (pattern) to deny")
    asg: str | None = _option(None, "Auto Scaling group (web stack output)")
    db: str | None = _option(None, "DB instance (database stack output)")
    bucket: str | None = _option(None, "(storage stack WebsiteBucketName)")
    seed: int | None = _option(None, "repeatable random choice")

    def rng(self) -> random.Random:
        if self.seed is None:
            return random.SystemRandom()
        return random.Random(self.seed)  # noqa: S311 - repeatable choice of victims, not secrets


@dataclass(frozen=True)
class Flag:
    """One fault-specific command-line option: ``--<name>`` (``_`` written ``-``)."""

    name: str
    type: Any
    default: Any
    help: str
    min: int | None = None

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Fault:
    name: str
    summary: str  # what it does: the command's help
    target: str  # what it acts on, and how that is found
    undo: str  # how it is undone
    flags: tuple[str, ...]  # the command's own options, in order: Options fields or DURATION
    plan: Callable[[Lab, Options, str], Plan]
    fis_template: Callable[[Settings], dict[str, Any]]
    revert: Callable[[Lab, Entry], list[Call]] | None = None
    observe: Callable[[Lab, dict[str, Any], bool], dict[str, Any]] | None = None
    default_duration: float | None = None
    #: What ``--probe`` polls unless ``--probe-url`` is given: ``page`` (the web stack's
    #: WebsiteURL) or ``image`` (the picture that page shows, read from the website bucket).
    probe: str = "page"

    def __post_init__(self) -> None:
        unknown = set(self.flags) - {f.name for f in fields(Options)} - {DURATION}
        if unknown:
            raise ValueError(f"fault {self.name}: unknown flags {sorted(unknown)}")
        if (DURATION in self.flags) != (self.default_duration is not None) or (
            self.default_duration is not None and not self.revertible
        ):
            raise ValueError(
                f"fault {self.name}: a default_duration, the {DURATION} flag and a revert "
                "go together"
            )

    @property
    def revertible(self) -> bool:
        return self.revert is not None

    def command_flags(self) -> list[Flag]:
        """The options of ``reslab inject <name>`` before the common ones, in order."""
        hints = get_type_hints(Options)
        by_name = {f.name: f for f in fields(Options)}
        found = []
        for name in self.flags:
            if name == DURATION:
                found.append(Flag(DURATION, float, self.default_duration, DURATION_HELP))
                continue
            option = by_name[name]
            meta = option.metadata
            found.append(Flag(name, hints[name], option.default, meta["help"], meta["min"]))
        return found


# --- instance ---------------------------------------------------------------------------------


def plan_instance(lab: Lab, opts: Options, _entry_id: str) -> Plan:
    group = require_asg(lab, opts.asg)
    in_service = describe_in_service_instances(group)
    tags = instance_tags(lab.client("ec2"), [i["InstanceId"] for i in in_service])
    candidates = [i["InstanceId"] for i in in_service if lab.is_lab(tags.get(i["InstanceId"], {}))]
    skipped = sorted(set(tags) - set(candidates))
    if not candidates:
        raise NothingToInject(
            f"Auto Scaling group {group['AutoScalingGroupName']} has no in-service instance "
            f"tagged workshop={lab.workshop}"
        )
    chosen = actions.pick_random(candidates, opts.count, opts.rng())
    az_of = {i["InstanceId"]: i.get("AvailabilityZone", "?") for i in in_service}
    plan = Plan(
        fault="instance",
        targets=[f"instance {i} ({az_of[i]}) of {group['AutoScalingGroupName']}" for i in chosen],
        calls=actions.terminate_instances(chosen),
        undo={"asg": group["AutoScalingGroupName"], "instances": chosen},
        notes=[
            f"{len(candidates)} in-service lab instance(s); the group replaces terminated ones "
            f"(desired capacity {group.get('DesiredCapacity')})"
        ],
    )
    if skipped:
        plan.notes.append(f"skipped (no workshop tag): {', '.join(skipped)}")
    return plan


# --- az ---------------------------------------------------------------------------------------


def plan_az(lab: Lab, opts: Options, entry_id: str) -> Plan:
    subnets = lab_subnets(lab)
    zones = sorted({s["AvailabilityZone"] for s in subnets})
    az = opts.az or opts.rng().choice(zones)
    in_az = [s for s in subnets if s["AvailabilityZone"] == az]
    if not in_az:
        raise NothingToInject(f"no lab subnet in {az}; the lab's AZs are {', '.join(zones)}")
    return _isolate(
        lab,
        in_az,
        entry_id,
        Plan(
            fault="az",
            targets=[],
            calls=[],
            notes=[
                f"lab AZs: {', '.join(zones)}; traffic to and from {az}'s lab subnets is dropped"
            ],
        ),
        az,
    )


def _isolate(lab: Lab, in_az: list[dict[str, Any]], entry_id: str, plan: Plan, az: str) -> Plan:
    """``plan`` with the calls that put a deny-all network ACL on ``in_az`` (the lab subnets
    ``az`` names: one zone, or every zone of the region)."""
    ec2 = lab.client("ec2")
    current = subnet_acl_associations(ec2, [s["SubnetId"] for s in in_az])
    vpcs = sorted({s["VpcId"] for s in in_az})
    ipv6 = {
        v["VpcId"]: bool(v.get("Ipv6CidrBlockAssociationSet"))
        for v in ec2.describe_vpcs(VpcIds=vpcs)["Vpcs"]
    }
    tags = {
        WORKSHOP_TAG: lab.workshop,
        OWNER_TAG: entry_id,
        "Name": f"reslab-isolate-{az}",
    }
    calls: list[Call] = []
    preview: list[Call] = []
    for n, vpc in enumerate(vpcs):
        name = f"acl{n}"
        ids = {
            s["SubnetId"]: current[s["SubnetId"]]["association"]
            for s in in_az
            if s["VpcId"] == vpc and s["SubnetId"] in current
        }
        calls += actions.create_deny_all_network_acl(vpc, tags, name, ipv6.get(vpc, False))
        calls += actions.associate_network_acl(ids, "${" + name + "}")
        preview += [
            Call(
                "ec2",
                "ReplaceNetworkAclAssociation",
                {
                    "AssociationId": f"<new association of {subnet}>",
                    "NetworkAclId": current[subnet]["acl"],
                },
            )
            for subnet in sorted(ids)
        ]
        preview += actions.delete_network_acls(["${" + name + "}"])
    plan.targets = [
        f"subnet {s['SubnetId']} ({s['AvailabilityZone']}, {s['VpcId']}, "
        f"now {current[s['SubnetId']]['acl']})"
        for s in in_az
        if s["SubnetId"] in current
    ]
    plan.calls = calls
    plan.undo = {"az": az, "previous": {sid: c["acl"] for sid, c in current.items()}, "vpcs": vpcs}
    plan.revert_preview = preview
    return plan


def revert_az(lab: Lab, entry: Entry) -> list[Call]:
    ec2 = lab.client("ec2")
    ours = set(network_acls_owned_by(ec2, entry.id))
    saved = {v for k, v in entry.saved.items() if k.startswith("acl")}
    if saved:  # ours by the journal, even if the tag were lost; only those that still exist
        vpcs = list(entry.undo.get("vpcs", []))
        existing = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": vpcs}])
        ours |= {a["NetworkAclId"] for a in existing["NetworkAcls"]} & saved
    previous = {str(k): str(v) for k, v in entry.undo.get("previous", {}).items()}
    return actions.restore_network_acl_associations(ec2, previous, ours) + (
        actions.delete_network_acls(sorted(ours))
    )


# --- region -----------------------------------------------------------------------------------


def plan_region(lab: Lab, _opts: Options, entry_id: str) -> Plan:
    """The primary region lost: every lab subnet there (web tier and database) behind a
    deny-all network ACL; the read replica stops receiving changes, the DMS task in the
    secondary region drains what reached it (docs/dms.md, the regional failover exercise)."""
    subnets = lab_subnets(lab)
    zones = sorted({s["AvailabilityZone"] for s in subnets})
    notes = [
        f"every lab subnet of {lab.region} ({', '.join(zones)}): the database and the web tier "
        "are cut off, and with them the cross-region replication to the read replica",
        "then `reslab failover --region` makes the DMS target in the secondary region the "
        "database; `reslab db-rpo` counts the rows it lost after `reslab recover region`",
    ]
    return _isolate(
        lab, subnets, entry_id, Plan(fault="region", targets=[], calls=[], notes=notes), lab.region
    )


# --- rds --------------------------------------------------------------------------------------


def plan_rds(lab: Lab, opts: Options, _entry_id: str) -> Plan:
    db = require_db(lab, opts.db)
    multi_az = bool(db.get("MultiAZ"))
    undo: dict[str, Any] = {"db": db["DBInstanceIdentifier"], "multi_az": multi_az}
    notes = [f"before: {db.get('DBInstanceStatus')} in {db.get('AvailabilityZone')}"]
    if not multi_az:
        notes.append(
            "not Multi-AZ: a plain reboot (no standby to fail over to: expect a full outage)"
        )
    if opts.replica:
        region = opts.replica_region or lab.region
        replica = require_db(lab, None, replica=True, region=region)
        undo["replica"] = {"id": replica["DBInstanceIdentifier"], "region": region}
        notes.append(
            f"replica {replica['DBInstanceIdentifier']} ({region}): lag reported, not promoted"
        )
    return Plan(
        fault="rds",
        targets=[
            f"DB instance {db['DBInstanceIdentifier']} ({db.get('Engine')}, "
            f"{'Multi-AZ' if multi_az else 'single-AZ'})"
        ],
        calls=actions.reboot_db_instance(db["DBInstanceIdentifier"], multi_az),
        undo=undo,
        notes=notes,
    )


RDS_WAIT = {"Delay": 5, "MaxAttempts": 180}  # up to 15 minutes for the failover to finish


def observe_rds(lab: Lab, undo: dict[str, Any], after: bool) -> dict[str, Any]:
    """Status and AZ of the database (after: once it is available again), replica lag if asked."""
    rds = lab.client("rds")
    if after:
        waiter = rds.get_waiter("db_instance_available")
        waiter.wait(DBInstanceIdentifier=undo["db"], WaiterConfig=RDS_WAIT)
    db = db_instance(rds, undo["db"])
    seen: dict[str, Any] = {
        "status": db.get("DBInstanceStatus"),
        "az": db.get("AvailabilityZone"),
        "secondary_az": db.get("SecondaryAvailabilityZone"),
    }
    replica = undo.get("replica")
    if replica:
        lag = replica_lag_seconds(lab.client("cloudwatch", replica["region"]), replica["id"])
        seen["replica_lag_s"] = "n/a" if lag is None else lag
    return seen


# --- s3 ---------------------------------------------------------------------------------------


def plan_s3(lab: Lab, opts: Options, _entry_id: str) -> Plan:
    bucket = require_bucket(lab, opts.bucket)
    current = bucket_policy_text(lab.client("s3"), bucket)
    if actions.has_deny_statement(current):
        raise AlreadyInjected(
            f"bucket {bucket}'s policy already has statement {actions.DENY_SID}: run "
            "`reslab recover s3` (or remove that statement) first"
        )
    restore = (
        [Call("s3", "PutBucketPolicy", {"Bucket": bucket, "Policy": current})]
        if current is not None
        else [Call("s3", "DeleteBucketPolicy", {"Bucket": bucket})]
    )
    return Plan(
        fault="s3",
        targets=[f"bucket {bucket}: deny s3:GetObject on {opts.key} (Sid {actions.DENY_SID})"],
        calls=actions.deny_object_reads(bucket, opts.key, current),
        undo={"bucket": bucket, "key": opts.key, "previous_policy": current},
        revert_preview=restore,
        notes=["existing policy statements are kept" if current else "the bucket had no policy"],
    )


def revert_s3(lab: Lab, entry: Entry) -> list[Call]:
    try:
        bucket = require_bucket(lab, entry.undo["bucket"])  # still the lab's (tag-checked)
    except LabResourceNotFound:
        return []  # the bucket is gone, and our statement with it
    return actions.allow_object_reads(lab.client("s3"), bucket, entry.undo.get("previous_policy"))


FAULTS: dict[str, Fault] = {
    fault.name: fault
    for fault in (
        Fault(
            "instance",
            "Terminate COUNT random in-service instances of the lab's Auto Scaling group.",
            target="in-service instances tagged with the workshop, of the Auto Scaling group "
            "(web stack output `AutoScalingGroupName`, or `--asg`)",
            undo="nothing to revert; the Auto Scaling group launches replacements",
            flags=("count", "asg", "seed"),
            plan=plan_instance,
            fis_template=instance_template,
        ),
        Fault(
            "az",
            "Isolate one AZ: a deny-all network ACL on the lab subnets there, reverted after "
            "DURATION.",
            target="the lab subnets in one Availability Zone (VPC stack outputs; `--az`, else a "
            "random lab AZ)",
            undo="after `--duration`, on Ctrl-C, or by `reslab recover az`; each subnet goes back "
            "to the ACL it had and the deny ACL is deleted",
            flags=("az", DURATION, "seed"),
            plan=plan_az,
            fis_template=az_template,
            revert=revert_az,
            default_duration=DEFAULT_DURATION_S,
        ),
        Fault(
            "region",
            "Lose the primary region: a deny-all network ACL on every lab subnet there "
            "(database and web tier), reverted after DURATION.",
            target="every lab subnet of the primary region (VPC stack outputs), in every AZ",
            undo="after `--duration`, on Ctrl-C, or by `reslab recover region`; each subnet goes "
            "back to the ACL it had and the deny ACLs are deleted",
            flags=(DURATION,),
            plan=plan_region,
            fis_template=region_template,
            revert=revert_az,
            default_duration=DEFAULT_DURATION_S,
        ),
        Fault(
            "rds",
            "Multi-AZ failover of the lab database (reboot with ForceFailover).",
            target="the lab database (database stack output `DBInstanceIdentifier`, or `--db`); "
            "with `--replica` its read replica's lag is reported",
            undo="nothing to revert; the command returns once the database is available again",
            flags=("replica", "replica_region", "db"),
            plan=plan_rds,
            fis_template=rds_template,
            observe=observe_rds,
        ),
        Fault(
            "s3",
            "Deny reads of the website image with a bucket-policy statement "
            f"(Sid {actions.DENY_SID}).",
            target="the website bucket (storage stack output `WebsiteBucketName`, or `--bucket`), "
            "objects matching `--key`; `--probe` follows the image the page shows",
            undo="after `--duration`, on Ctrl-C, or by `reslab recover s3`; only that statement is "
            "removed (the previous policy comes back byte for byte)",
            flags=("key", "bucket", DURATION),
            plan=plan_s3,
            fis_template=s3_template,
            revert=revert_s3,
            default_duration=DEFAULT_DURATION_S,
            probe="image",
        ),
    )
}
REVERTIBLE = tuple(name for name, fault in FAULTS.items() if fault.revertible)
