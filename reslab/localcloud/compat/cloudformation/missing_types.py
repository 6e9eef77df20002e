"""CloudFormation resource types moto 5.2.5 does not implement (it skips them silently, so a
``Ref``/``Fn::GetAtt`` to them breaks the stack):

real, backed by moto's own service backends: AWS::EC2::NetworkAcl, NetworkAclEntry,
SubnetNetworkAclAssociation, SecurityGroupEgress, AWS::S3::BucketPolicy,
AWS::SecretsManager::Secret, AWS::Backup::BackupVault, BackupPlan (the Scheduler types are in
``scheduler_types``);
placeholder (Ref = generated name, GetAtt = an ARN-shaped string): PLACEHOLDER_TYPES.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import string
from typing import Any

from reslab.localcloud.compat.cloudformation.resource_model import Model, register

#: Types accepted without a backend: Ref gives a generated name, any GetAtt an ARN-like string.
PLACEHOLDER_TYPES: tuple[str, ...] = (
    "AWS::Backup::BackupSelection",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::SSM::Document",
    "AWS::EC2::VPCEndpointService",
)
_installed = False


def _ec2(account_id: str, region: str) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[account_id][region]


def _tags(properties: dict[str, Any]) -> list[dict[str, str]]:
    return list(properties.get("Tags") or [])


class NetworkAcl(Model):
    CFN_TYPE = "AWS::EC2::NetworkAcl"

    @classmethod
    def from_properties(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> NetworkAcl:
        acl = _ec2(account_id, region_name).create_network_acl(p["VpcId"], tags=_tags(p))
        return cls(acl.id, account_id, region_name, Id=acl.id)

    def _remove(self) -> None:
        _ec2(self.account_id, self.region).delete_network_acl(self.physical_resource_id)


class NetworkAclEntry(Model):
    CFN_TYPE = "AWS::EC2::NetworkAclEntry"

    @classmethod
    def from_properties(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> NetworkAclEntry:
        ports, icmp = p.get("PortRange") or {}, p.get("Icmp") or {}
        egress = str(p.get("Egress", False)).lower() == "true"
        _ec2(account_id, region_name).create_network_acl_entry(
            p["NetworkAclId"],
            int(p["RuleNumber"]),
            str(p["Protocol"]),
            p["RuleAction"],
            egress,
            p.get("CidrBlock"),
            icmp.get("Code"),
            icmp.get("Type"),
            ports.get("From"),
            ports.get("To"),
            p.get("Ipv6CidrBlock"),
        )
        return cls(
            resource_name,
            account_id,
            region_name,
            acl=p["NetworkAclId"],
            rule=int(p["RuleNumber"]),
            egress=egress,
        )

    def _remove(self) -> None:
        with contextlib.suppress(Exception):  # the ACL may be gone already
            _ec2(self.account_id, self.region).delete_network_acl_entry(
                self.extra["acl"], self.extra["rule"], self.extra["egress"]
            )


class SubnetNetworkAclAssociation(Model):
    CFN_TYPE = "AWS::EC2::SubnetNetworkAclAssociation"

    @classmethod
    def from_properties(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> SubnetNetworkAclAssociation:
        ec2 = _ec2(account_id, region_name)
        current = next(
            assoc_id
            for acl in ec2.network_acls.values()
            for assoc_id, assoc in acl._associations.items()
            if assoc.subnet_id == p["SubnetId"]
        )
        assoc = ec2.replace_network_acl_association(current, p["NetworkAclId"])
        return cls(assoc.id, account_id, region_name, AssociationId=assoc.id, subnet=p["SubnetId"])

    def _remove(self) -> None:
        ec2 = _ec2(self.account_id, self.region)
        for acl in ec2.network_acls.values():
            acl._associations.pop(self.physical_resource_id, None)
        subnet_id = self.extra["subnet"]
        if any(subnet_id in subnets for subnets in ec2.subnets.values()):
            subnet = ec2.get_subnet(subnet_id)
            ec2.associate_default_network_acl_with_subnet(subnet.id, subnet.vpc_id)


class SecurityGroupEgress(Model):
    CFN_TYPE = "AWS::EC2::SecurityGroupEgress"

    @classmethod
    def from_properties(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> SecurityGroupEgress:
        ranges = (
            [{"CidrIp": p["CidrIp"], "Description": p.get("Description")}]
            if p.get("CidrIp")
            else []
        )
        dest = (
            {"GroupId": p["DestinationSecurityGroupId"]}
            if p.get("DestinationSecurityGroupId")
            else None
        )
        rules, _ = _ec2(account_id, region_name).authorize_security_group_egress(
            group_name_or_id=p["GroupId"],
            ip_protocol=str(p["IpProtocol"]),
            from_port=p.get("FromPort"),
            to_port=p.get("ToPort"),
            ip_ranges=ranges,
            source_groups=[dest] if dest else [],
        )
        rule_id = rules[0].id if rules else resource_name
        return cls(rule_id, account_id, region_name, Id=rule_id)


class BucketPolicy(Model):
    CFN_TYPE = "AWS::S3::BucketPolicy"

    @classmethod
    def from_properties(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> BucketPolicy:
        from moto.s3.models import s3_backends

        doc = p["PolicyDocument"]
        policy = doc if isinstance(doc, str) else json.dumps(doc)
        s3_backends[account_id]["aws"].put_bucket_policy(p["Bucket"], policy.encode())
        return cls(resource_name, account_id, region_name, bucket=p["Bucket"])

    def _remove(self) -> None:
        from moto.s3.models import s3_backends

        with contextlib.suppress(Exception):  # the bucket may be gone already
            s3_backends[self.account_id]["aws"].delete_bucket_policy(self.extra["bucket"])


def _generated_secret(spec: dict[str, Any]) -> str:
    length = int(spec.get("PasswordLength", 32))
    excluded = set(spec.get("ExcludeCharacters", ""))
    alphabet = [
        c for c in string.ascii_letters + string.digits + "!#$%&*+-.=?^_~" if c not in excluded
    ]
    if str(spec.get("ExcludePunctuation", "false")).lower() == "true":
        alphabet = [c for c in alphabet if c.isalnum()]
    value = "".join(secrets.choice(alphabet) for _ in range(length))
    if "SecretStringTemplate" in spec and "GenerateStringKey" in spec:
        doc = json.loads(spec["SecretStringTemplate"])
        doc[spec["GenerateStringKey"]] = value
        return json.dumps(doc)
    return value


def _replica(region: dict[str, Any]) -> dict[str, str]:
    replica = {"Region": str(region["Region"])}
    if region.get("KmsKeyId"):
        replica["KmsKeyId"] = str(region["KmsKeyId"])
    return replica


class Secret(Model):
    CFN_TYPE = "AWS::SecretsManager::Secret"

    @classmethod
    def from_properties(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> Secret:
        from moto.secretsmanager.models import secretsmanager_backends

        value = p.get("SecretString") or _generated_secret(p.get("GenerateSecretString") or {})
        backend = secretsmanager_backends[account_id][region_name]
        backend.create_secret(
            name=p.get("Name") or resource_name,
            secret_string=value,
            secret_binary=None,
            description=p.get("Description"),
            tags=_tags(p),
            kms_key_id=p.get("KmsKeyId"),
            client_request_token=None,
            # ``ReplicaRegions``: the same secret in those regions (same name, ARN in that
            # region), as a database stack's DMS source secret reaches the secondary region.
            replica_regions=[_replica(r) for r in p.get("ReplicaRegions") or []],
            force_overwrite=False,
        )
        arn = backend.describe_secret(p.get("Name") or resource_name).arn
        return cls(arn, account_id, region_name, Id=arn)

    def _remove(self) -> None:
        from moto.secretsmanager.models import secretsmanager_backends

        backend = secretsmanager_backends[self.account_id][self.region]
        replicas = [r.region for r in backend.describe_secret(self.physical_resource_id).replicas]
        if replicas:  # Secrets Manager refuses to delete a secret that still has replicas
            backend.remove_regions_from_replication(self.physical_resource_id, replicas)
        backend.delete_secret(
            self.physical_resource_id,
            recovery_window_in_days=None,
            force_delete_without_recovery=True,
        )


class BackupVault(Model):
    CFN_TYPE = "AWS::Backup::BackupVault"

    @classmethod
    def from_properties(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> BackupVault:
        from moto.backup.models import backup_backends

        vault = backup_backends[account_id][region_name].create_backup_vault(
            p["BackupVaultName"], p.get("BackupVaultTags") or {}, p.get("EncryptionKeyArn"), ""
        )
        return cls(
            p["BackupVaultName"],
            account_id,
            region_name,
            BackupVaultName=p["BackupVaultName"],
            BackupVaultArn=vault.backup_vault_arn,
        )

    def _remove(self) -> None:
        from moto.backup.models import backup_backends

        backup_backends[self.account_id][self.region].delete_backup_vault(self.physical_resource_id)


class BackupPlan(Model):
    CFN_TYPE = "AWS::Backup::BackupPlan"

    @classmethod
    def from_properties(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> BackupPlan:
        from moto.backup.models import backup_backends

        doc = dict(p["BackupPlan"])
        doc["Rules"] = doc.pop("BackupPlanRule", doc.get("Rules", []))
        plan = backup_backends[account_id][region_name].create_backup_plan(
            doc, p.get("BackupPlanTags") or {}, ""
        )
        return cls(
            plan.backup_plan_id,
            account_id,
            region_name,
            BackupPlanId=plan.backup_plan_id,
            BackupPlanArn=plan.backup_plan_arn,
            VersionId=plan.version_id,
        )

    def _remove(self) -> None:
        from moto.backup.models import backup_backends

        backup_backends[self.account_id][self.region].delete_backup_plan(self.physical_resource_id)


class _Placeholder(Model):
    @classmethod
    def from_properties(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> _Placeholder:
        service = cls.CFN_TYPE.split("::")[1].lower()
        arn = f"arn:aws:{service}:{region_name}:{account_id}:{resource_name}"
        return cls(resource_name, account_id, region_name, Arn=arn)

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        return self.extra["Arn"]


#: The real models, backed by moto's service backends.
MODELS: tuple[type[Model], ...] = (
    NetworkAcl,
    NetworkAclEntry,
    SubnetNetworkAclAssociation,
    SecurityGroupEgress,
    BucketPolicy,
    Secret,
    BackupVault,
    BackupPlan,
)


def _placeholders() -> list[type[Model]]:
    return [
        type(f"Placeholder_{t.replace('::', '_')}", (_Placeholder,), {"CFN_TYPE": t})
        for t in PLACEHOLDER_TYPES
    ]


def install() -> None:
    global _installed
    if _installed:
        return
    register([*MODELS, *_placeholders()])
    _installed = True
