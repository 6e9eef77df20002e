"""Who connects, and where a database listens: small descriptions built from moto's objects.

A :class:`Caller` has one :data:`Source` per place its connections can start from: a Lambda
function attached to a VPC has one per subnet of its ``VpcConfig`` (AWS runs each invocation in
one of them), an EC2 instance its primary network interface; the laptop and a Lambda function
outside any VPC are on the internet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reslab.localcloud.network.ports import EPHEMERAL_ANY, EPHEMERAL_LINUX, PortRange
from reslab.localcloud.network.verdict import MissingResource


@dataclass(frozen=True)
class Attachment:
    """A caller's network interface in a subnet."""

    subnet_id: str
    security_group_ids: tuple[str, ...]
    private_ip: str | None = None  # None: some address of the subnet (Lambda's Hyperplane ENI)
    public_ip: str | None = None  # Lambda's interfaces never have one
    ephemeral: PortRange = EPHEMERAL_LINUX


@dataclass(frozen=True)
class Internet:
    """A caller outside any VPC: the CLI on a laptop, a Lambda function without ``VpcConfig``."""

    public_ip: str | None = None  # None: unknown (only 0.0.0.0/0 rules match it)
    ephemeral: PortRange = EPHEMERAL_ANY


Source = Attachment | Internet


@dataclass(frozen=True)
class Caller:
    name: str  # "lambda:<function>", "instance:<id>", "internet"
    sources: tuple[Source, ...]


def internet_caller(public_ip: str | None = None) -> Caller:
    return Caller("internet", (Internet(public_ip),))


def lambda_caller(function: Any) -> Caller:
    """A moto ``LambdaFunction``: its ``VpcConfig`` subnets, or the internet without one."""
    name = f"lambda:{function.function_name}"
    config = function.vpc_config or {}
    subnets = tuple(config.get("SubnetIds") or ())
    if not subnets:
        return Caller(name, (Internet(),))
    groups = tuple(config.get("SecurityGroupIds") or ())
    return Caller(name, tuple(Attachment(s, groups, ephemeral=EPHEMERAL_ANY) for s in subnets))


def instance_caller(instance: Any) -> Caller:
    """A moto EC2 ``Instance``: its primary network interface."""
    eni = instance.nics[0]
    attachment = Attachment(
        eni.subnet.id,
        tuple(sorted(g.id for g in eni.group_set)),
        private_ip=eni.private_ip_address,
        public_ip=eni.public_ip,
    )
    return Caller(f"instance:{instance.id}", (attachment,))


@dataclass(frozen=True)
class DatabasePlacement:
    """Where an RDS instance's endpoint listens: the subnet of its current primary."""

    name: str
    subnet_id: str
    security_group_ids: tuple[str, ...]
    port: int
    publicly_accessible: bool


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def database_placement(db: Any, ec2: Any) -> DatabasePlacement:
    """A moto RDS ``DBInstance`` in ``ec2``'s region: the subnet of its subnet group in its
    Availability Zone (the default VPC's when it has no group, as on AWS)."""
    group = getattr(db, "db_subnet_group", None)
    subnets = list(group._subnets) if group is not None else []
    if not subnets:
        subnets = list(ec2.get_default_subnets().values())
    if not subnets:
        raise MissingResource("subnet for database", db.db_instance_identifier)
    zone = getattr(db, "availability_zone", None)
    primary = next((s for s in subnets if s.availability_zone == zone), subnets[0])
    return DatabasePlacement(
        name=db.db_instance_identifier,
        subnet_id=primary.id,
        security_group_ids=tuple(db.vpc_security_group_ids or ()),
        port=int(db.port),
        publicly_accessible=_truthy(db.publicly_accessible),
    )
