"""The network model wired into the local cloud (gaps 43-50, docs/network-model.md).

* gap 43: a database's endpoint is moto's DNS-shaped name (``compat.rds`` asks
  :func:`service.enabled`), resolved per caller; after every request that changed the network
  (the mutators of :data:`MUTATORS`, by the API or by CloudFormation, which calls the backends in
  process) the gates are re-evaluated while the request still holds the lock;
* gaps 44-48: CloudFormation properties moto drops that decide reachability
  (``SubnetRouteTableAssociation`` in the table, inline ``SecurityGroupEgress``, RDS
  ``VPCSecurityGroups``, the VPC's DNS attributes, ``PrivateDnsEnabled``'s default);
* gap 49: ``RebootDBInstance(ForceFailover=True)`` moves a Multi-AZ instance to another zone;
* gap 50: a Lambda function's ``VpcConfig`` is validated as AWS does.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from reslab.localcloud import serialise
from reslab.localcloud.compat.cloudformation.property_shapes import Properties, wrap_cfn_create
from reslab.localcloud.network import service

_log = logging.getLogger(__name__)
_installed = False

#: (module, class, methods) whose calls change what the model answers.
MUTATORS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "moto.ec2.models",
        "EC2Backend",
        (
            "authorize_security_group_ingress",
            "authorize_security_group_egress",
            "revoke_security_group_ingress",
            "revoke_security_group_egress",
            "modify_security_group_rules",
            "delete_security_group",
            "create_network_acl_entry",
            "replace_network_acl_entry",
            "delete_network_acl_entry",
            "replace_network_acl_association",
            "delete_network_acl",
            "create_route",
            "replace_route",
            "delete_route",
            "associate_route_table",
            "disassociate_route_table",
            "replace_route_table_association",
            "create_subnet_association",
            "create_nat_gateway",
            "delete_nat_gateway",
            "attach_internet_gateway",
            "detach_internet_gateway",
            "create_vpc_endpoint",
            "modify_vpc_endpoint",
            "delete_vpc_endpoints",
            "modify_vpc_attribute",
            "modify_instance_attribute",
            "terminate_instances",
        ),
    ),
    (
        "moto.rds.models",
        "RDSBackend",
        ("modify_db_instance", "reboot_db_instance", "delete_db_instance"),
    ),
    (
        "moto.awslambda.models",
        "LambdaBackend",
        ("update_function_configuration", "delete_function"),
    ),
)


def _marking(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        finally:
            net = service.existing()
            if net is not None:
                net.mark_dirty()

    return wrapper


def _patch_mutators() -> None:
    import importlib

    for module_name, class_name, methods in MUTATORS:
        cls = getattr(importlib.import_module(module_name), class_name)
        for name in methods:
            original = getattr(cls, name, None)
            if original is not None:
                setattr(cls, name, _marking(original))


def reevaluate() -> None:
    """``serialise.AFTER_REQUEST`` hook: ask the model again if the request changed the network."""
    net = service.existing()
    if net is None:
        return
    try:
        net.reevaluate_if_dirty()
    except Exception:  # a broken line must not fail the request that changed the network
        _log.exception("network re-evaluation failed")


# -- CloudFormation properties moto drops (gaps 44-48) --------------------------------------------
def _patch_route_table_association() -> None:
    """gap 44: record a CFN ``SubnetRouteTableAssociation`` in the route table itself."""
    from moto.ec2.models import EC2Backend
    from moto.ec2.utils import random_subnet_association_id

    original = EC2Backend.create_subnet_association

    def create_subnet_association(self: Any, route_table_id: str, subnet_id: str) -> Any:
        association = original(self, route_table_id, subnet_id)
        table = self.get_route_table(route_table_id)
        for other in self.route_tables.values():  # a subnet has one explicit association
            for key, value in list(other._associations.items()):
                if value == subnet_id:
                    del other._associations[key]
        table._associations[random_subnet_association_id()] = subnet_id
        return association

    EC2Backend.create_subnet_association = create_subnet_association


def _patch_security_group_egress() -> None:
    """gap 45: a CFN ``AWS::EC2::SecurityGroup``'s inline ``SecurityGroupEgress`` replaces the
    default allow-all egress, as on AWS."""
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.security_groups import SecurityGroup

    def replace_egress(group: Any, properties: Properties, account_id: str, region: str) -> None:
        rules = properties.get("SecurityGroupEgress")
        if not rules:
            return
        ec2 = ec2_backends[account_id][region]
        group.egress_rules = []
        for rule in rules:
            ranges = [{"CidrIp": rule["CidrIp"]}] if rule.get("CidrIp") else []
            dest = rule.get("DestinationSecurityGroupId")
            ec2.authorize_security_group_egress(
                group_name_or_id=group.id,
                ip_protocol=str(rule["IpProtocol"]),
                from_port=rule.get("FromPort"),
                to_port=rule.get("ToPort"),
                ip_ranges=ranges,
                source_groups=[{"GroupId": dest}] if dest else [],
                vpc_id=group.vpc_id,
            )

    wrap_cfn_create(SecurityGroup, after=replace_egress)


def _patch_vpc_dns() -> None:
    """gap 47: ``EnableDnsSupport`` / ``EnableDnsHostnames`` of a CFN ``AWS::EC2::VPC``."""
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.vpcs import VPC

    def set_dns(vpc: Any, properties: Properties, account_id: str, region: str) -> None:
        ec2 = ec2_backends[account_id][region]
        for prop, attribute in (
            ("EnableDnsSupport", "enable_dns_support"),
            ("EnableDnsHostnames", "enable_dns_hostnames"),
        ):
            if prop in properties:
                value = str(properties[prop]).lower() == "true"
                ec2.modify_vpc_attribute(vpc.id, attribute, value)

    wrap_cfn_create(VPC, after=set_dns)


def _patch_private_dns_default() -> None:
    """gap 48: CloudFormation's ``PrivateDnsEnabled`` defaults to false (the API's to true)."""
    from moto.ec2.models.vpcs import VPCEndPoint

    def private_dns_off_unless_set(properties: Properties) -> Properties:
        properties.setdefault("PrivateDnsEnabled", False)
        return properties

    wrap_cfn_create(VPCEndPoint, before=private_dns_off_unless_set)


# -- RDS failover (gap 49) -----------------------------------------------------------------------
def fail_over(database: Any) -> None:
    """A Multi-AZ instance's primary moves to another zone of its subnet group."""
    group = getattr(database, "db_subnet_group", None)
    zones = sorted({s.availability_zone for s in (group._subnets if group else [])})
    others = [z for z in zones if z != database.availability_zone]
    if database.multi_az and others:
        database.availability_zone = others[0]


def _patch_force_failover() -> None:
    from moto.rds.responses import RDSResponse

    original = RDSResponse.reboot_db_instance

    def reboot_db_instance(self: Any) -> Any:
        if str(self.params.get("ForceFailover", "")).lower() == "true":
            database = self.backend.describe_db_instances(self.params["DBInstanceIdentifier"])[0]
            fail_over(database)
        return original(self)

    RDSResponse.reboot_db_instance = reboot_db_instance  # type: ignore[method-assign]


# -- Lambda VpcConfig (gap 50) --------------------------------------------------------------------
def validate_vpc_config(account_id: str, region: str, config: Any) -> None:
    """Refuse subnets or groups that do not exist, or that span VPCs, as Lambda does."""
    from moto.awslambda.exceptions import InvalidParameterValueException
    from moto.ec2.models import ec2_backends

    subnets = list((config or {}).get("SubnetIds") or ())
    groups = list((config or {}).get("SecurityGroupIds") or ())
    if not subnets and not groups:
        return
    if not subnets or not groups:
        raise InvalidParameterValueException(
            "VpcConfig needs both SubnetIds and SecurityGroupIds (or neither)"
        )
    ec2 = ec2_backends[account_id][region]
    vpcs = set()
    for subnet_id in subnets:
        try:
            vpcs.add(ec2.get_subnet(subnet_id).vpc_id)
        except Exception:  # noqa: BLE001 - moto's InvalidSubnetID.NotFound
            raise InvalidParameterValueException(
                f"Error occurred while DescribeSubnets. EC2 Error Code: InvalidSubnetID.NotFound. "
                f"EC2 Error Message: The subnet ID '{subnet_id}' does not exist"
            ) from None
    for group_id in groups:
        group = ec2.get_security_group_from_id(group_id)
        if group is None:
            raise InvalidParameterValueException(
                f"Error occurred while DescribeSecurityGroups. EC2 Error Code: "
                f"InvalidGroup.NotFound. EC2 Error Message: The security group '{group_id}' "
                "does not exist"
            )
        vpcs.add(group.vpc_id)
    if len(vpcs) > 1:
        raise InvalidParameterValueException(
            f"Security groups and subnets of VpcConfig must be in one VPC (found {sorted(vpcs)})"
        )


def _patch_lambda_vpc_config() -> None:
    from moto.awslambda.models import LambdaBackend

    create = LambdaBackend.create_function
    update = LambdaBackend.update_function_configuration

    def create_function(self: Any, spec: dict[str, Any]) -> Any:
        validate_vpc_config(self.account_id, self.region_name, spec.get("VpcConfig"))
        return create(self, spec)

    def update_function_configuration(self: Any, name: str, qualifier: Any, body: Any) -> Any:
        if "VpcConfig" in body:
            validate_vpc_config(self.account_id, self.region_name, body["VpcConfig"])
        return update(self, name, qualifier, body)

    LambdaBackend.create_function = create_function  # type: ignore[method-assign]
    LambdaBackend.update_function_configuration = update_function_configuration  # type: ignore[method-assign]


def install() -> None:
    global _installed
    if _installed:
        return
    _patch_route_table_association()
    _patch_security_group_egress()
    _patch_vpc_dns()
    _patch_private_dns_default()
    _patch_force_failover()
    _patch_lambda_vpc_config()
    _patch_mutators()
    serialise.AFTER_REQUEST.append(reevaluate)
    _installed = True
