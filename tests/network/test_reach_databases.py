"""Can a caller open TCP to a database? The model over VPCs built through the local cloud's API."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from reslab.localcloud.network.parties import (
    Attachment,
    DatabasePlacement,
    Internet,
    database_placement,
    instance_caller,
    internet_caller,
    lambda_caller,
)
from reslab.localcloud.network.ports import EPHEMERAL_ANY
from reslab.localcloud.network.reach import database_verdict
from tests.network.topologies import (
    REGION,
    Vpc,
    backend,
    isolate_subnets,
    lambda_function,
    restore_subnets,
    run_instance,
)

PG = 5432
FULL_PATH = [
    "vpc",
    "dns",
    "route",
    "security-group-egress",
    "network-acl-egress",
    "network-acl-ingress",
    "security-group-ingress",
    "return-route",
    "return-network-acl-egress",
    "return-network-acl-ingress",
]


@dataclass
class TwoTier:
    """An app subnet (AZ a) and a database subnet (AZ b); the database's group allows the app's."""

    vpc: Vpc
    app_subnet: str
    db_subnet: str
    app_group: str
    db_group: str

    def db(self, public: bool = False, subnet: str | None = None) -> DatabasePlacement:
        return DatabasePlacement("labdb", subnet or self.db_subnet, (self.db_group,), PG, public)

    def app(self, *groups: str) -> Attachment:
        return Attachment(self.app_subnet, groups or (self.app_group,), ephemeral=EPHEMERAL_ANY)


@pytest.fixture
def tiers(local_cloud) -> TwoTier:
    vpc = Vpc(local_cloud.client("ec2", REGION))
    app_subnet, db_subnet = vpc.subnet(0), vpc.subnet(1)
    app_group, db_group = vpc.group("app"), vpc.group("db")
    vpc.allow(db_group, PG, group=app_group)
    return TwoTier(vpc, app_subnet, db_subnet, app_group, db_group)


def steps(verdict) -> list[str]:
    return [hop.step for hop in verdict.hops]


def test_an_instance_whose_group_the_database_allows_connects(tiers) -> None:
    instance = run_instance(tiers.vpc, tiers.app_subnet, tiers.app_group)
    (source,) = instance_caller(instance).sources
    assert source == Attachment(
        tiers.app_subnet, (tiers.app_group,), instance.private_ip_address, None
    )
    verdict = database_verdict(backend(), source, tiers.db())
    assert verdict.allowed, verdict.explain()
    assert steps(verdict) == FULL_PATH
    ingress = verdict.hops[FULL_PATH.index("security-group-ingress")]
    assert ingress.resource == tiers.db_group and tiers.app_group in ingress.detail


def test_a_group_the_database_does_not_allow_is_refused_at_its_security_group(tiers) -> None:
    other = tiers.vpc.group("checks")
    verdict = database_verdict(backend(), tiers.app(other), tiers.db())
    assert not verdict.allowed
    assert verdict.refusal.step == "security-group-ingress"
    assert verdict.refusal.resource == tiers.db_group
    assert "tcp/5432" in verdict.refusal.detail and other in verdict.refusal.detail


def test_outbound_rules_of_the_callers_group_apply(tiers) -> None:
    closed = tiers.vpc.group("closed", egress=False)
    tiers.vpc.allow(tiers.db_group, PG, group=closed)
    refused = database_verdict(backend(), tiers.app(closed), tiers.db())
    assert refused.refusal.step == "security-group-egress" and refused.refusal.resource == closed
    tiers.vpc.allow(closed, PG, egress=True, group=tiers.db_group)
    assert database_verdict(backend(), tiers.app(closed), tiers.db()).allowed


def test_a_cidr_rule_must_cover_every_address_the_caller_may_have(tiers) -> None:
    cidr_db = tiers.vpc.group("cidr-db")
    tiers.vpc.allow(cidr_db, PG, cidr=tiers.vpc.cidr_of(tiers.app_subnet))
    db = DatabasePlacement("labdb", tiers.db_subnet, (cidr_db,), PG, False)
    lambda_in_app = Attachment(tiers.app_subnet, (tiers.app_group,), ephemeral=EPHEMERAL_ANY)
    assert database_verdict(backend(), lambda_in_app, db).allowed
    elsewhere = Attachment(tiers.vpc.subnet(2), (tiers.app_group,), ephemeral=EPHEMERAL_ANY)
    refused = database_verdict(backend(), elsewhere, db)
    assert refused.refusal.step == "security-group-ingress"
    # One address of the subnet is not enough for a Lambda, whose address is not known:
    tiers.vpc.allow(cidr_db, PG, cidr=tiers.vpc.cidr_of(elsewhere.subnet_id).replace("/24", "/28"))
    assert not database_verdict(backend(), elsewhere, db).allowed


def test_az_isolation_by_network_acl_refuses_new_and_freezes_open_connections(
    local_cloud, tiers
) -> None:
    ec2, source, db = backend(), tiers.app(), tiers.db()
    acl, previous = isolate_subnets(local_cloud, tiers.vpc, [tiers.db_subnet])
    try:
        for established in (False, True):
            verdict = database_verdict(ec2, source, db, established=established)
            assert verdict.refusal.step == "network-acl-ingress", verdict.explain()
            assert verdict.refusal.resource == acl
            assert "rule 1 deny all 0.0.0.0/0" in verdict.refusal.detail
    finally:
        restore_subnets(local_cloud, tiers.vpc, acl, previous)
    assert database_verdict(ec2, source, db).allowed


def test_isolating_the_callers_subnet_refuses_its_outbound_packets(local_cloud, tiers) -> None:
    acl, previous = isolate_subnets(local_cloud, tiers.vpc, [tiers.app_subnet])
    try:
        verdict = database_verdict(backend(), tiers.app(), tiers.db())
        assert (verdict.refusal.step, verdict.refusal.resource) == ("network-acl-egress", acl)
    finally:
        restore_subnets(local_cloud, tiers.vpc, acl, previous)


def test_a_removed_rule_refuses_new_connections_but_not_tracked_ones(tiers) -> None:
    tiers.vpc.revoke_ingress(tiers.db_group, PG, tiers.app_group)
    ec2 = backend()
    assert database_verdict(ec2, tiers.app(), tiers.db()).refusal.step == "security-group-ingress"
    still = database_verdict(ec2, tiers.app(), tiers.db(), established=True)
    assert still.allowed and "security-group-ingress" not in steps(still)


def test_network_acls_are_stateless_the_replies_need_their_own_rule(tiers) -> None:
    ec2 = tiers.vpc.ec2
    acl = ec2.create_network_acl(VpcId=tiers.vpc.vpc_id)["NetworkAcl"]["NetworkAclId"]
    entries = [(100, False, 5432, 5432), (100, True, 443, 443)]  # in: the port; out: only 443
    for rule, egress, low, high in entries:
        ec2.create_network_acl_entry(
            NetworkAclId=acl,
            RuleNumber=rule,
            Protocol="6",
            RuleAction="allow",
            Egress=egress,
            CidrBlock="0.0.0.0/0",
            PortRange={"From": low, "To": high},
        )
    association = ec2.describe_network_acls(
        Filters=[{"Name": "association.subnet-id", "Values": [tiers.db_subnet]}]
    )["NetworkAcls"][0]["Associations"]
    current = next(a for a in association if a["SubnetId"] == tiers.db_subnet)
    ec2.replace_network_acl_association(
        AssociationId=current["NetworkAclAssociationId"], NetworkAclId=acl
    )
    verdict = database_verdict(backend(), tiers.app(), tiers.db())
    assert verdict.refusal.step == "return-network-acl-egress"
    assert "tcp/1024-65535" in verdict.refusal.detail  # a Lambda's ephemeral ports
    # The lowest rule number decides each port: a deny of a slice of the ephemeral range
    # before an allow of all of it still drops some replies.
    for rule, action, low, high in ((90, "deny", 40000, 40100), (110, "allow", 1024, 65535)):
        ec2.create_network_acl_entry(
            NetworkAclId=acl,
            RuleNumber=rule,
            Protocol="6",
            RuleAction=action,
            Egress=True,
            CidrBlock="0.0.0.0/0",
            PortRange={"From": low, "To": high},
        )
    sliced = database_verdict(backend(), tiers.app(), tiers.db())
    assert sliced.refusal.step == "return-network-acl-egress"
    assert "rule 90 deny tcp/40000-40100" in sliced.refusal.detail
    ec2.delete_network_acl_entry(NetworkAclId=acl, RuleNumber=90, Egress=True)
    assert database_verdict(backend(), tiers.app(), tiers.db()).allowed


def test_traffic_inside_one_subnet_crosses_no_network_acl(local_cloud, tiers) -> None:
    acl, previous = isolate_subnets(local_cloud, tiers.vpc, [tiers.db_subnet])
    try:
        beside = Attachment(tiers.db_subnet, (tiers.app_group,), ephemeral=EPHEMERAL_ANY)
        verdict = database_verdict(backend(), beside, tiers.db())
        assert verdict.allowed, verdict.explain()
        assert "network-acl-ingress" not in steps(verdict)
    finally:
        restore_subnets(local_cloud, tiers.vpc, acl, previous)


def test_without_dns_support_the_endpoint_name_does_not_resolve(tiers) -> None:
    tiers.vpc.ec2.modify_vpc_attribute(VpcId=tiers.vpc.vpc_id, EnableDnsSupport={"Value": False})
    verdict = database_verdict(backend(), tiers.app(), tiers.db())
    assert (verdict.refusal.step, verdict.refusal.resource) == ("dns", tiers.vpc.vpc_id)


def test_a_private_database_is_out_of_reach_from_the_internet_and_other_vpcs(
    local_cloud, tiers
) -> None:
    ec2 = backend()
    laptop = database_verdict(ec2, Internet(), tiers.db())
    assert laptop.refusal.step == "publicly-accessible" and laptop.refusal.resource == "labdb"
    other = Vpc(local_cloud.client("ec2", REGION), cidr="10.30.0.0/16")
    public_subnet, _ = other.public_subnet()
    private = other.subnet(1)
    table = other.route_table(private)
    other.default_route(table, NatGatewayId=other.nat_gateway(public_subnet))
    verdict = database_verdict(ec2, Attachment(private, (other.group("app"),)), tiers.db())
    assert steps(verdict)[0] == "vpc" and "no peering" in verdict.hops[0].detail
    assert verdict.refusal.step == "publicly-accessible"


def test_a_database_in_another_region_is_reached_over_the_internet(local_cloud, tiers) -> None:
    """The cross-region read replica's case: the caller's NAT address must be allowed."""
    replica_region = Vpc(local_cloud.client("ec2", "us-west-1"), cidr="10.50.0.0/16")
    public_subnet, _ = replica_region.public_subnet()
    replica_group = replica_region.group("replica")
    replica = DatabasePlacement("replica", public_subnet, (replica_group,), PG, True)
    nat_subnet, _ = tiers.vpc.public_subnet(2)
    table = tiers.vpc.route_table(tiers.app_subnet)
    tiers.vpc.default_route(table, NatGatewayId=tiers.vpc.nat_gateway(nat_subnet))
    west = backend("us-west-1")
    verdict = database_verdict(backend(), tiers.app(), replica, db_ec2=west)
    assert "us-west-1" in verdict.hops[0].detail
    assert (verdict.refusal.step, verdict.refusal.resource) == (
        "security-group-ingress",
        replica_group,
    )
    nat_ip = tiers.vpc.ec2.describe_nat_gateways(
        Filter=[{"Name": "vpc-id", "Values": [tiers.vpc.vpc_id]}]
    )["NatGateways"][0]["NatGatewayAddresses"][0]["PublicIp"]
    replica_region.allow(replica_group, PG, cidr=f"{nat_ip}/32")
    assert database_verdict(backend(), tiers.app(), replica, db_ec2=west).allowed
    private = replace(replica, publicly_accessible=False)
    refused = database_verdict(backend(), tiers.app(), private, db_ec2=west)
    assert refused.refusal.step == "publicly-accessible"


def test_a_public_database_needs_an_internet_gateway_route_and_a_rule_for_the_address(
    local_cloud, tiers
) -> None:
    vpc, ec2 = tiers.vpc, backend()
    public_db_group = vpc.group("public-db")
    vpc.allow(public_db_group, PG, cidr="203.0.113.7/32")
    in_private = DatabasePlacement("pubdb", tiers.db_subnet, (public_db_group,), PG, True)
    refused = database_verdict(ec2, Internet("203.0.113.7"), in_private)
    assert refused.refusal.step == "return-route"  # publicly accessible, in a private subnet
    public_subnet, _ = vpc.public_subnet(2)
    db = DatabasePlacement("pubdb", public_subnet, (public_db_group,), PG, True)
    assert database_verdict(ec2, Internet("203.0.113.7"), db).allowed
    unknown = database_verdict(ec2, Internet(), db)  # the rule names one address; ours unknown
    assert unknown.refusal.step == "security-group-ingress"
    # From another VPC through a NAT gateway: the rule must name the gateway's address.
    other = Vpc(local_cloud.client("ec2", REGION), cidr="10.40.0.0/16")
    nat_subnet, _ = other.public_subnet()
    private = other.subnet(1)
    other.default_route(other.route_table(private), NatGatewayId=other.nat_gateway(nat_subnet))
    app = Attachment(private, (other.group("app"),))
    assert database_verdict(ec2, app, db).refusal.step == "security-group-ingress"
    nat_ip = other.ec2.describe_nat_gateways(Filter=[{"Name": "vpc-id", "Values": [other.vpc_id]}])[
        "NatGateways"
    ][0]["NatGatewayAddresses"][0]["PublicIp"]
    vpc.allow(public_db_group, PG, cidr=f"{nat_ip}/32")
    assert database_verdict(ec2, app, db).allowed


def test_lambda_functions_outside_a_vpc_are_on_the_internet_inside_on_their_subnets(
    local_cloud, tiers
) -> None:
    outside = lambda_caller(lambda_function(local_cloud))
    assert outside.sources == (Internet(),)
    assert database_verdict(backend(), outside.sources[0], tiers.db()).refusal.step == (
        "publicly-accessible"
    )
    second = tiers.vpc.subnet(2)
    attached = lambda_caller(
        lambda_function(local_cloud, (tiers.app_subnet, second), (tiers.app_group,))
    )
    assert [s.subnet_id for s in attached.sources] == [tiers.app_subnet, second]
    for source in attached.sources:
        verdict = database_verdict(backend(), source, tiers.db())
        assert verdict.allowed, verdict.explain()
    assert internet_caller().sources == (Internet(),)


def test_a_subnet_that_does_not_exist_refuses_and_is_named(tiers) -> None:
    ghost = Attachment("subnet-0123456789abcdef0", (tiers.app_group,))
    verdict = database_verdict(backend(), ghost, tiers.db())
    assert (verdict.refusal.step, verdict.refusal.resource) == (
        "resource",
        "subnet-0123456789abcdef0",
    )


def test_an_rds_instance_listens_in_the_subnet_of_its_zone(local_cloud, tiers) -> None:
    from reslab.localcloud import dbbacking

    rds = local_cloud.client("rds", REGION)
    group = f"net-{tiers.vpc.vpc_id}"
    rds.create_db_subnet_group(
        DBSubnetGroupName=group,
        DBSubnetGroupDescription="network test",
        SubnetIds=[tiers.app_subnet, tiers.db_subnet],
    )
    identifier = f"net-{tiers.vpc.vpc_id[-8:]}"
    zone = tiers.vpc.zones[1]
    with dbbacking.switch_backing("postgresql://postgres@127.0.0.1:5432/postgres"):
        rds.create_db_instance(
            DBInstanceIdentifier=identifier,
            Engine="postgres",
            DBInstanceClass="db.t3.micro",
            MasterUsername="labadmin",
            MasterUserPassword="not-a-secret-1",  # noqa: S106 - local test instance
            AllocatedStorage=20,
            DBSubnetGroupName=group,
            VpcSecurityGroupIds=[tiers.db_group],
            AvailabilityZone=zone,
            PubliclyAccessible=False,
        )
        try:
            from moto.core import DEFAULT_ACCOUNT_ID
            from moto.rds.models import rds_backends

            db = rds_backends[DEFAULT_ACCOUNT_ID][REGION].databases[identifier]
            placement = database_placement(db, backend())
            assert placement == DatabasePlacement(
                identifier, tiers.db_subnet, (tiers.db_group,), PG, False
            )
            assert database_verdict(backend(), tiers.app(), placement).allowed
        finally:
            rds.delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=True)
