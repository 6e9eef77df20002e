"""Each template against the design contract: parameters, outputs, tags, IAM, no secrets."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
from moto import mock_aws

from reslab import REPO_ROOT
from reslab.iam.iamdb import action_info
from reslab.templates import load_template, template_outputs, template_parameters
from reslab_lambda import cfn
from reslab_lambda.errors import StackFailed
from reslab_lambda.event import DEFAULT_BOOT_OBJECT, validate_event
from reslab_lambda.stacks import stack_table, table_path
from tests.templates.contract import (
    EVENT_KEYS,
    OUTPUTS,
    REGION_PARAMETERS,
    SAMPLE_EVENT,
    STACKS,
    TAG_STYLE,
)
from tests.templates.parameters import stack_parameters

SPECS = {spec.key: spec for spec in stack_table()}
TEMPLATES = {key: load_template(spec.template) for key, spec in SPECS.items()}
WORKSHOP_TAG = {"Key": "workshop", "Value": {"Ref": "Workshop"}}


def resources(key: str) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from TEMPLATES[key]["Resources"].items()


def walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def policy_statements(key: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(resource, document property, statement) for every policy document in the template."""
    for name, resource in resources(key):
        props = resource.get("Properties", {})
        documents = [
            ("KeyPolicy", props.get("KeyPolicy")),
            ("PolicyDocument", props.get("PolicyDocument")),
            ("AssumeRolePolicyDocument", props.get("AssumeRolePolicyDocument")),
        ]
        documents += [("Policies", p["PolicyDocument"]) for p in props.get("Policies", [])]
        for where, document in documents:
            for statement in (document or {}).get("Statement", []):
                if "Fn::If" in statement:  # a conditional statement: its granting branch
                    statement = statement["Fn::If"][1]
                yield name, where, statement


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_stack_table_matches_contract() -> None:
    table = {
        spec.key: (
            spec.suffix,
            spec.template,
            "secondary" if spec.secondary else "primary",
            spec.depends_on,
            spec.optional,
        )
        for spec in SPECS.values()
    }
    assert table == STACKS
    assert json.loads(table_path().read_text())["default_stack_prefix"] == "Resiliency"
    assert SPECS["vpc"].stack_name({}) == "ResiliencyVPC"
    assert SPECS["web"].stack_name({"stack_prefix": "Lab2"}) == "Lab2Web"
    assert SPECS["replica"].requires_event_key == "secondary_region_name"


def test_replica_is_skipped_without_secondary_region() -> None:
    assert SPECS["replica"].region({**SAMPLE_EVENT, "secondary_region_name": ""}) is None
    assert SPECS["replica"].region(SAMPLE_EVENT) == "us-east-2"
    assert SPECS["web"].region(SAMPLE_EVENT) == "us-west-2"


@pytest.mark.parametrize("key", list(STACKS))
def test_workshop_parameter(key: str) -> None:
    workshop = template_parameters(SPECS[key].template)["Workshop"]
    assert workshop["Type"] == "String"
    assert "Default" not in workshop
    assert SPECS[key].event_parameters["Workshop"] == "workshop"


@pytest.mark.parametrize("key", list(STACKS))
def test_outputs_are_the_contract_and_exported(key: str) -> None:
    outputs = template_outputs(SPECS[key].template)
    assert set(outputs) == OUTPUTS[key]
    for name, output in outputs.items():
        assert output["Export"]["Name"] == {"Fn::Sub": f"${{AWS::StackName}}-{name}"}


@pytest.mark.parametrize("key", list(STACKS))
def test_every_taggable_resource_has_the_workshop_tag(key: str) -> None:
    for name, resource in resources(key):
        style = TAG_STYLE[resource["Type"]]  # KeyError: a new type -> classify it in TAG_STYLE
        props = resource.get("Properties", {})
        if style == "Tags":
            tags = [
                {k: v for k, v in tag.items() if k != "PropagateAtLaunch"} for tag in props["Tags"]
            ]
            assert WORKSHOP_TAG in tags, name
        elif style == "TagSpecifications":
            spec_tags = {s["ResourceType"]: s["Tags"] for s in props["TagSpecifications"]}
            assert WORKSHOP_TAG in spec_tags["launch-template"], name
            launched = props["LaunchTemplateData"]["TagSpecifications"]
            assert {s["ResourceType"] for s in launched} == {"instance", "volume"}
            assert all(WORKSHOP_TAG in s["Tags"] for s in launched), name


def test_tag_style_table_agrees_with_the_resource_schemas() -> None:
    for resource_type, style in TAG_STYLE.items():
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
        properties = schema.get("properties", {})
        has = (
            "Tags"
            if "Tags" in properties
            else "TagSpecifications"
            if "TagSpecifications" in properties
            else None
        )
        assert has == style, resource_type


def test_auto_scaling_tag_propagates_to_instances() -> None:
    group = TEMPLATES["web"]["Resources"]["AutoScalingGroup"]["Properties"]
    assert {**WORKSHOP_TAG, "PropagateAtLaunch": True} in group["Tags"]


@pytest.mark.parametrize("key", list(STACKS))
def test_parameters_are_satisfiable_from_event_and_dependency_outputs(key: str) -> None:
    spec = SPECS[key]
    from_outputs = (
        set().union(*(OUTPUTS[dep] for dep in spec.depends_on)) if spec.depends_on else set()
    )
    assert set(spec.event_parameters.values()) <= EVENT_KEYS
    assert dict(spec.region_parameters) == REGION_PARAMETERS.get(key, {})
    for name, definition in template_parameters(spec.template).items():
        assert (
            name in spec.event_parameters
            or name in spec.install_parameters
            or name in from_outputs
            or "Default" in definition
        ), name
        # unambiguous: a parameter comes from one of event, install, region fact or output
        sources = (
            spec.event_parameters,
            spec.install_parameters,
            spec.region_parameters,
            from_outputs,
        )
        assert sum(name in source for source in sources) <= 1, name


def fake_outputs() -> dict[str, dict[str, str]]:
    return {key: {name: f"<{key}.{name}>" for name in names} for key, names in OUTPUTS.items()}


def test_parameters_for_the_sample_event() -> None:
    web = stack_parameters(SPECS["web"], SAMPLE_EVENT, fake_outputs())
    assert web["Workshop"] == "300 - Testing for Resiliency"
    assert web["BootBucket"] == "aws-well-architected-labs-ohio"
    assert web["BootPrefix"] == "Reliability/"
    assert "BootObject" not in web  # a raw empty value is not passed
    # The validated event (what the machine's stacks get) names the default object explicitly:
    # the one `reslab install` uploads; the template's default is the same name.
    normalised = stack_parameters(SPECS["web"], validate_event(SAMPLE_EVENT), fake_outputs())
    assert normalised["BootObject"] == DEFAULT_BOOT_OBJECT == "bootstrap.sh"
    assert template_parameters("web")["BootObject"]["Default"] == DEFAULT_BOOT_OBJECT
    assert web["MasterUserSecretArn"] == "<database.MasterUserSecretArn>"
    assert web["WebsiteBucketName"] == "<storage.WebsiteBucketName>"
    replica = stack_parameters(SPECS["replica"], SAMPLE_EVENT, fake_outputs())
    assert replica["DBInstanceArn"] == "<database.DBInstanceArn>"
    database = stack_parameters(
        SPECS["database"], {**SAMPLE_EVENT, "engine": "mysql"}, fake_outputs()
    )
    assert database["Engine"] == "mysql"
    assert "Engine" not in stack_parameters(SPECS["database"], SAMPLE_EVENT, fake_outputs())


def test_a_parameter_nothing_fills_is_left_out_and_the_create_names_it(tmp_path: Path) -> None:
    """As the deploy Lambda does: no value -> not passed, so CloudFormation refuses the create
    and StackFailed names the parameter (the template default would apply if it had one)."""
    event = {**SAMPLE_EVENT, "boot_bucket": ""}
    assert "BootBucket" not in stack_parameters(SPECS["web"], event, fake_outputs())
    assert "VpcId" not in stack_parameters(SPECS["web"], SAMPLE_EVENT, {})
    assert "Default" not in template_parameters("web")["BootBucket"]
    with mock_aws(), pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        lab = {**SAMPLE_EVENT, "region_name": "us-east-2", "stack_prefix": "Miss"}
        s3 = boto3.client("s3", region_name=lab["cfn_region"])
        s3.create_bucket(
            Bucket=lab["cfn_bucket"], CreateBucketConfiguration={"LocationConstraint": "us-east-2"}
        )
        database = SPECS["database"]
        s3.put_object(Bucket=lab["cfn_bucket"], Key=f"{lab['folder']}{database.template_file}",
                      Body=(REPO_ROOT / database.template_path).read_bytes())  # fmt: skip
        vpc = SPECS["vpc"].stack_name(lab)  # complete, but without the outputs database needs
        boto3.client("cloudformation", region_name="us-east-2").create_stack(
            StackName=vpc,
            TemplateBody=json.dumps({"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}),
        )
        handoff = {"vpc": cfn.entry(vpc, "CREATE_COMPLETE", "us-east-2")}
        with pytest.raises(StackFailed, match=r"MissDatabase \(database, us-east-2\).*Subnet"):
            cfn.start_create("database", lab, handoff)


@pytest.mark.parametrize("key", list(STACKS))
def test_no_literal_password_and_no_hard_coded_names(key: str) -> None:
    hard_names = {
        "BucketName",
        "RoleName",
        "DBInstanceIdentifier",
        "GroupName",
        "Name",
        "LaunchTemplateName",
        "AutoScalingGroupName",
    }
    for name, resource in resources(key):
        props = resource.get("Properties", {})
        assert "MasterUserPassword" not in props, name
        assert not (hard_names & set(props)), name
    for node in walk(TEMPLATES[key]):
        if isinstance(node, dict):
            for prop, value in node.items():
                if "password" in prop.lower():  # RDS manages it, or Secrets Manager makes it
                    generated = prop == "PasswordLength" and "GenerateStringKey" in node
                    assert (prop, value) == ("ManageMasterUserPassword", True) or generated, prop
    for param in template_parameters(SPECS[key].template):
        assert "password" not in param.lower()


def test_database_uses_managed_secret_encryption_backups_and_multi_az() -> None:
    props = TEMPLATES["database"]["Resources"]["DBInstance"]["Properties"]
    assert props["ManageMasterUserPassword"] is True
    assert props["MasterUserSecret"] == {"KmsKeyId": {"Fn::GetAtt": ["DatabaseKey", "Arn"]}}
    assert props["StorageEncrypted"] is True
    assert props["KmsKeyId"] == {"Fn::GetAtt": ["DatabaseKey", "Arn"]}
    assert props["MultiAZ"] is True
    assert props["CopyTagsToSnapshot"] is True
    assert props["DeletionProtection"] == {"Ref": "DeletionProtection"}
    assert template_parameters("database")["DeletionProtection"]["Default"] == "false"
    assert template_parameters("database")["BackupRetentionPeriod"]["MinValue"] >= 1
    assert props["DBSubnetGroupName"] == {"Ref": "DBSubnetGroup"}
    group = TEMPLATES["database"]["Resources"]["MySQLParameterGroup"]
    assert group["Condition"] == "IsMySQL"
    assert group["Properties"]["Parameters"]["binlog_format"] == "ROW"


def test_replica_reads_from_the_source_arn_with_its_own_key() -> None:
    props = TEMPLATES["replica"]["Resources"]["ReplicaInstance"]["Properties"]
    assert props["SourceDBInstanceIdentifier"] == {"Ref": "DBInstanceArn"}
    assert props["KmsKeyId"] == {"Fn::GetAtt": ["ReplicaKey", "Arn"]}


def test_vpc_spans_two_or_three_azs_and_nat_mode_is_a_parameter() -> None:
    subnets = {n: r for n, r in resources("vpc") if r["Type"] == "AWS::EC2::Subnet"}
    zones = sorted(json.dumps(s["Properties"]["AvailabilityZone"]) for s in subnets.values())
    assert len(subnets) == 6
    assert len(set(zones)) == 3
    assert all('"Fn::GetAZs"' in z for z in zones)
    count = template_parameters("vpc")["AvailabilityZoneCount"]
    assert (count["AllowedValues"], count["Default"]) == (["2", "3"], "3")
    assert TEMPLATES["vpc"]["Conditions"]["ThreeAzs"] == {
        "Fn::Equals": [{"Ref": "AvailabilityZoneCount"}, "3"]
    }
    # the third AZ's subnets exist only with three AZs; the first two always
    assert {n: s.get("Condition") for n, s in subnets.items()} == {
        "PublicSubnet1": None,
        "PublicSubnet2": None,
        "PublicSubnet3": "ThreeAzs",
        "PrivateSubnet1": None,
        "PrivateSubnet2": None,
        "PrivateSubnet3": "ThreeAzs",
    }
    assert template_parameters("vpc")["NatGatewayMode"]["AllowedValues"] == ["single", "per-az"]
    nats = {
        n: r.get("Condition") for n, r in resources("vpc") if r["Type"] == "AWS::EC2::NatGateway"
    }
    assert nats == {
        "NatGateway1": None,
        "NatGateway2": "NatPerAz",
        "NatGateway3": "NatPerAzThirdAz",
    }
    assert TEMPLATES["vpc"]["Conditions"]["NatPerAzThirdAz"] == {
        "Fn::And": [
            TEMPLATES["vpc"]["Conditions"]["NatPerAz"],
            TEMPLATES["vpc"]["Conditions"]["ThreeAzs"],
        ]
    }
    assert not [n for n, r in resources("vpc") if r["Type"].startswith("AWS::EC2::NetworkAcl")]


def test_security_groups_chain_lb_web_db() -> None:
    """Internet -> load balancer -> web -> database; the backup-check Lambdas' group -> database
    (the deploy attaches them to the private subnets with it: docs/network-model.md)."""
    res = TEMPLATES["vpc"]["Resources"]
    lb_in = res["LoadBalancerSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert [(r["FromPort"], r["CidrIp"]) for r in lb_in] == [(80, "0.0.0.0/0")]
    rules = [
        (
            r["Type"].rsplit("::", 1)[-1],
            r["Properties"]["GroupId"]["Fn::GetAtt"][0],
            r["Properties"]["FromPort"],
            (
                r["Properties"].get("SourceSecurityGroupId")
                or r["Properties"].get("DestinationSecurityGroupId")
            )["Fn::GetAtt"][0],
        )
        for r in res.values()
        if r["Type"] in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress")
    ]
    assert sorted(r for r in rules if r[0] == "SecurityGroupIngress") == sorted(
        [
            ("SecurityGroupIngress", "WebSecurityGroup", 80, "LoadBalancerSecurityGroup"),
            ("SecurityGroupIngress", "DatabaseSecurityGroup", 5432, "WebSecurityGroup"),
            ("SecurityGroupIngress", "DatabaseSecurityGroup", 3306, "WebSecurityGroup"),
            ("SecurityGroupIngress", "DatabaseSecurityGroup", 5432, "CheckSecurityGroup"),
            ("SecurityGroupIngress", "DatabaseSecurityGroup", 3306, "CheckSecurityGroup"),
        ]
    )
    check_out = sorted(r[2:] for r in rules if r[1] == "CheckSecurityGroup")
    assert check_out == [(3306, "DatabaseSecurityGroup"), (5432, "DatabaseSecurityGroup")]
    inline = res["CheckSecurityGroup"]["Properties"]["SecurityGroupEgress"]
    assert [(r["FromPort"], r["CidrIp"]) for r in inline] == [(443, "0.0.0.0/0")]  # APIs via NAT


@pytest.mark.parametrize("key", list(STACKS))
def test_policies_have_no_wildcard_action(key: str) -> None:
    for name, where, statement in policy_statements(key):
        if statement["Effect"] != "Allow":
            continue
        for action in as_list(statement["Action"]):
            assert action != "*" and not action.endswith(":*"), (name, action)
        if where == "Policies":  # identity policies: every statement names its resources,
            # but for actions IAM cannot scope (no resource type: "*" is the only form)
            unscopable = all(
                not action_info(a).resource_types for a in as_list(statement["Action"])
            )
            assert statement["Resource"] != "*" or unscopable, (name, statement.get("Sid"))


def test_web_role_reads_only_its_secret_key_and_objects() -> None:
    grants = {
        s["Sid"]: (s["Action"], s["Resource"])
        for name, where, s in policy_statements("web")
        if name == "InstanceRole" and where == "Policies"
    }
    assert grants["ReadDatabaseSecret"] == (
        "secretsmanager:GetSecretValue",
        {"Ref": "MasterUserSecretArn"},
    )
    assert grants["DecryptDatabaseSecretThroughSecretsManager"] == (
        "kms:Decrypt",
        {"Ref": "KmsKeyArn"},
    )
    assert grants["ReadBootFiles"][0] == "s3:GetObject"
    assert "${BootBucket}/${BootPrefix}*" in grants["ReadBootFiles"][1]["Fn::Sub"]
    # the one image object: read, and put there by the first instance (python -m webapp.image)
    image_actions, image_object = grants["ReadAndPlaceWebsiteImage"]
    assert image_actions == ["s3:GetObject", "s3:PutObject"]
    assert image_object["Fn::Sub"].endswith(":s3:::${WebsiteBucketName}/${WebsiteImageKey}")
    # two-region DMS mode only (condition HasDmsSource): the DMS source user's secret
    assert grants["ReadDmsSourceUserSecret"] == (
        "secretsmanager:GetSecretValue",
        {"Ref": "DmsSourceSecretPrimaryArn"},
    )
    assert grants["DecryptDmsSourceUserSecretThroughSecretsManager"][0] == "kms:Decrypt"
    assert len(grants) == 6


def test_launch_template_requires_imdsv2_encrypts_ebs_and_runs_the_bootstrap() -> None:
    data = TEMPLATES["web"]["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert all(m["Ebs"]["Encrypted"] is True for m in data["BlockDeviceMappings"])
    user_data = data["UserData"]["Fn::Base64"]["Fn::Sub"]
    assert "s3://${BootBucket}/${BootPrefix}${BootObject}" in user_data
    for variable in (
        "WEBAPP_DB_SECRET_ARN",
        "WEBAPP_DB_HOST",
        "WEBAPP_DB_PORT",
        "WEBAPP_DB_NAME",
        "WEBAPP_DB_ENGINE",
        "WEBAPP_IMAGE_URL",
        "WEBAPP_MODE",
        "WEBAPP_WORKSHOP",
    ):
        assert f"export {variable}=" in user_data
    assert "password" not in user_data.lower()
    assert (
        template_parameters("web")["ImageId"]["Type"]
        == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    )
    group = TEMPLATES["web"]["Resources"]["AutoScalingGroup"]["Properties"]
    assert group["VPCZoneIdentifier"] == {"Ref": "PrivateSubnetIds"}
    target = TEMPLATES["web"]["Resources"]["TargetGroup"]["Properties"]
    assert target["HealthCheckPath"] == "/healthcheck"
    balancer = TEMPLATES["web"]["Resources"]["LoadBalancer"]["Properties"]
    assert (balancer["Scheme"], balancer["Subnets"]) == (
        "internet-facing",
        {"Ref": "PublicSubnetIds"},
    )


def test_storage_buckets_are_private_encrypted_and_tls_only() -> None:
    res = TEMPLATES["storage"]["Resources"]
    for bucket in ("WebsiteBucket", "ReportBucket"):
        props = res[bucket]["Properties"]
        assert all(props["PublicAccessBlockConfiguration"].values())
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        policy = res[f"{bucket}Policy"]["Properties"]["PolicyDocument"]["Statement"][0]
        assert policy["Effect"] == "Deny"
        assert policy["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    report = res["ReportBucket"]["Properties"]
    assert report["VersioningConfiguration"] == {"Status": "Enabled"}
    rule = report["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert report["LifecycleConfiguration"]["Rules"]


def test_no_secret_looking_literals() -> None:
    pattern = re.compile(
        r"(?i)(password|passwd|secret)[ \t]*[:=][ \t]*['\"]?[A-Za-z0-9!@#%^&*]{6,}"
    )
    for key in STACKS:
        text = (REPO_ROOT / SPECS[key].template_path).read_text()
        assert not pattern.search(text), key


def test_every_security_group_replaces_the_default_allow_all_egress() -> None:
    groups = {n: r for n, r in resources("vpc") if r["Type"] == "AWS::EC2::SecurityGroup"}
    assert len(groups) == 4  # load balancer, web, database, checks
    for name, group in groups.items():
        egress = group["Properties"]["SecurityGroupEgress"]  # inline -> default rule removed
        assert all(rule["IpProtocol"] != "-1" for rule in egress), name


def test_vpc_third_az_is_referenced_only_where_three_azs_are_used() -> None:
    """Every resource of the third AZ is gated by a condition implying ThreeAzs, and each
    reference to one sits in a resource so gated or in the ThreeAzs branch of an ``Fn::If``
    (so a two-AZ region never resolves ``Fn::Select [2, Fn::GetAZs]``)."""
    template = TEMPLATES["vpc"]
    three = {"ThreeAzs", "NatPerAzThirdAz"}
    third = {n for n, r in template["Resources"].items() if r.get("Condition") in three}
    assert third == {
        "PublicSubnet3",
        "PrivateSubnet3",
        "PublicSubnet3RouteTableAssociation",
        "PrivateRouteTable3",
        "PrivateDefaultRoute3",
        "PrivateSubnet3RouteTableAssociation",
        "NatEip3",
        "NatGateway3",
    }

    def ungated(node: Any) -> Iterator[str]:
        """Third-AZ names (and ``Select 2``) reachable outside a ThreeAzs branch."""
        if isinstance(node, dict):
            if node.get("Fn::If", [None])[0] == "ThreeAzs":
                yield from ungated(node["Fn::If"][2])
                return
            for k, v in node.items():
                if k == "Ref" and v in third:
                    yield v
                elif k == "Fn::GetAtt" and v[0] in third:
                    yield v[0]
                elif k == "Fn::Select" and v[0] == 2 and "Fn::GetAZs" in json.dumps(v[1]):
                    yield "Select 2 of GetAZs"
                else:
                    yield from ungated(v)
        elif isinstance(node, list):
            for v in node:
                yield from ungated(v)

    for name, resource in template["Resources"].items():
        if resource.get("Condition") not in three:
            assert not list(ungated(resource)), name
    for name, output in template["Outputs"].items():
        assert not list(ungated(output)), name
    for name in ("PublicSubnetIds", "PrivateSubnetIds", "AvailabilityZones"):
        assert template["Outputs"][name]["Value"]["Fn::If"][0] == "ThreeAzs"
