"""Gaps 44-50 (compat/network.py): what moto drops that decides reachability, as AWS has it."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from reslab.localcloud import dbbacking
from reslab.localcloud.testing import lambda_role, unique_prefix, wait_for_stack, zip_files
from tests.localcloud.instances import create_instance

REGION = "us-east-2"


def _network_stack(local_cloud, name: str) -> dict[str, str]:
    sg = {"GroupDescription": "x", "VpcId": {"Ref": "Vpc"}}
    template = {
        "Resources": {
            "Vpc": {
                "Type": "AWS::EC2::VPC",
                "Properties": {
                    "CidrBlock": "10.8.0.0/16",
                    "EnableDnsSupport": True,
                    "EnableDnsHostnames": True,
                },
            },
            "Subnet": {
                "Type": "AWS::EC2::Subnet",
                "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.8.1.0/24"},
            },
            "Table": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
            "Assoc": {
                "Type": "AWS::EC2::SubnetRouteTableAssociation",
                "Properties": {"SubnetId": {"Ref": "Subnet"}, "RouteTableId": {"Ref": "Table"}},
            },
            "Open": {"Type": "AWS::EC2::SecurityGroup", "Properties": sg},
            "Https": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {
                    **sg,
                    "SecurityGroupEgress": [
                        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}
                    ],
                },
            },
            "Endpoint": {
                "Type": "AWS::EC2::VPCEndpoint",
                "Properties": {
                    "VpcId": {"Ref": "Vpc"},
                    "ServiceName": f"com.amazonaws.{REGION}.secretsmanager",
                    "VpcEndpointType": "Interface",
                    "SubnetIds": [{"Ref": "Subnet"}],
                },
            },
        },
        "Outputs": {
            k: {"Value": {"Ref": k}}
            for k in ("Vpc", "Subnet", "Table", "Open", "Https", "Endpoint")
        },
    }
    cfn = local_cloud.client("cloudformation", REGION)
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(template))
    stack = wait_for_stack(cfn, name)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def test_cloudformation_network_properties_as_aws_applies_them(local_cloud):
    name = unique_prefix("netgap")
    out = _network_stack(local_cloud, name)
    ec2 = local_cloud.client("ec2", REGION)
    [table] = ec2.describe_route_tables(RouteTableIds=[out["Table"]])["RouteTables"]
    assert [a.get("SubnetId") for a in table["Associations"]] == [out["Subnet"]]  # gap 44
    groups = {
        g["GroupId"]: g["IpPermissionsEgress"]
        for g in ec2.describe_security_groups(GroupIds=[out["Open"], out["Https"]])[
            "SecurityGroups"
        ]
    }
    assert groups[out["Open"]][0]["IpProtocol"] == "-1"  # no inline egress: the default stays
    assert [(p["IpProtocol"], p["FromPort"]) for p in groups[out["Https"]]] == [("tcp", 443)]  # 45
    for attribute in ("enableDnsSupport", "enableDnsHostnames"):  # gap 47
        value = ec2.describe_vpc_attribute(VpcId=out["Vpc"], Attribute=attribute)
        assert value[attribute[0].upper() + attribute[1:]]["Value"] is True
    [endpoint] = ec2.describe_vpc_endpoints(VpcEndpointIds=[out["Endpoint"]])["VpcEndpoints"]
    assert endpoint["PrivateDnsEnabled"] is False  # gap 48: CloudFormation's default
    local_cloud.client("cloudformation", REGION).delete_stack(StackName=name)


def test_lambda_vpc_config_is_validated(local_cloud):
    lam = local_cloud.client("lambda", REGION)
    with pytest.raises(ClientError) as refused:  # gap 50
        lam.create_function(
            FunctionName=unique_prefix("vpcfn"),
            Runtime="python3.12",
            Role=lambda_role(local_cloud),
            Handler="f.handler",
            Code={"ZipFile": zip_files({"f.py": "def handler(e, c): return 1\n"})},
            VpcConfig={"SubnetIds": ["subnet-0000000000"], "SecurityGroupIds": ["sg-00000000"]},
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "subnet-0000000000" in refused.value.response["Error"]["Message"]


def test_force_failover_moves_the_primary_and_cfn_groups_apply(local_cloud, pg_url):
    ec2, rds = local_cloud.client("ec2", REGION), local_cloud.client("rds", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.7.{i}.0/24", AvailabilityZone=f"{REGION}{z}")[
            "Subnet"
        ]["SubnetId"]
        for i, z in ((1, "a"), (2, "b"))
    ]
    group_name = unique_prefix("ff")
    rds.create_db_subnet_group(
        DBSubnetGroupName=group_name, DBSubnetGroupDescription="x", SubnetIds=subnets
    )
    ident = unique_prefix("ffdb")
    with dbbacking.switch_backing(pg_url):
        db = create_instance(
            rds,
            ident,
            "postgres",
            "admin",
            MultiAZ=True,
            DBSubnetGroupName=group_name,
            AvailabilityZone=f"{REGION}a",
        )
        assert db["AvailabilityZone"] == f"{REGION}a"
        rds.reboot_db_instance(DBInstanceIdentifier=ident, ForceFailover=True)  # gap 49
        [db] = rds.describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"]
        assert db["AvailabilityZone"] == f"{REGION}b"
        rds.delete_db_instance(DBInstanceIdentifier=ident, SkipFinalSnapshot=True)
