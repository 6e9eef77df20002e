"""Resource types moto lacks (compat/cloudformation/missing_types.py, scheduler_types.py):
created and deleted."""

from __future__ import annotations

import json

from reslab.localcloud.testing import unique_prefix, wait_for_stack


def test_network_acl_egress_secret_backup_and_placeholders(local_cloud):
    name = unique_prefix("res")
    template = {
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.9.0.0/16"}},
            "Subnet": {
                "Type": "AWS::EC2::Subnet",
                "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.9.1.0/24"},
            },
            "Acl": {"Type": "AWS::EC2::NetworkAcl", "Properties": {"VpcId": {"Ref": "Vpc"}}},
            "AclIn": {
                "Type": "AWS::EC2::NetworkAclEntry",
                "Properties": {
                    "NetworkAclId": {"Ref": "Acl"},
                    "RuleNumber": 100,
                    "Protocol": 6,
                    "RuleAction": "allow",
                    "CidrBlock": "10.0.0.0/8",
                    "PortRange": {"From": 443, "To": 443},
                },
            },
            "AclAssoc": {
                "Type": "AWS::EC2::SubnetNetworkAclAssociation",
                "Properties": {"SubnetId": {"Ref": "Subnet"}, "NetworkAclId": {"Ref": "Acl"}},
            },
            "Sg": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {"GroupDescription": "x", "VpcId": {"Ref": "Vpc"}},
            },
            "SgOut": {
                "Type": "AWS::EC2::SecurityGroupEgress",
                "Properties": {
                    "GroupId": {"Fn::GetAtt": ["Sg", "GroupId"]},
                    "IpProtocol": "tcp",
                    "FromPort": 5432,
                    "ToPort": 5432,
                    "CidrIp": "10.9.0.0/16",
                },
            },
            "Secret": {
                "Type": "AWS::SecretsManager::Secret",
                "Properties": {
                    "GenerateSecretString": {
                        "SecretStringTemplate": '{"username": "app"}',
                        "GenerateStringKey": "password",
                        "ExcludePunctuation": True,
                    }
                },
            },
            "Vault": {
                "Type": "AWS::Backup::BackupVault",
                "Properties": {"BackupVaultName": f"{name}-vault"},
            },
            "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {}},
        },
        "Outputs": {
            "AclId": {"Value": {"Ref": "Acl"}},
            "SecretArn": {"Value": {"Ref": "Secret"}},
            "VaultArn": {"Value": {"Fn::GetAtt": ["Vault", "BackupVaultArn"]}},
            "AlarmArn": {"Value": {"Fn::GetAtt": ["Alarm", "Arn"]}},
        },
    }
    cfn = local_cloud.client("cloudformation", "us-east-2")
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(template))
    stack = wait_for_stack(cfn, name)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack
    out = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}

    ec2 = local_cloud.client("ec2", "us-east-2")
    [acl] = ec2.describe_network_acls(NetworkAclIds=[out["AclId"]])["NetworkAcls"]
    assert any(e["RuleNumber"] == 100 for e in acl["Entries"])
    assert acl["Associations"]
    sm = local_cloud.client("secretsmanager", "us-east-2")
    secret = json.loads(sm.get_secret_value(SecretId=out["SecretArn"])["SecretString"])
    assert secret["username"] == "app" and len(secret["password"]) == 32
    backup = local_cloud.client("backup", "us-east-2")
    assert (
        backup.describe_backup_vault(BackupVaultName=f"{name}-vault")["BackupVaultArn"]
        == (out["VaultArn"])
    )
    assert out["AlarmArn"].startswith("arn:aws:cloudwatch:us-east-2:")

    cfn.delete_stack(StackName=name)
    summaries = {s["StackName"]: s["StackStatus"] for s in cfn.list_stacks()["StackSummaries"]}
    assert summaries[name] == "DELETE_COMPLETE"
    acl_ids = [a["NetworkAclId"] for a in ec2.describe_network_acls()["NetworkAcls"]]
    assert out["AclId"] not in acl_ids
