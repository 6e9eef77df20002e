"""CloudFormation types of the DMS stack that moto 5.2.5 skips silently: ``AWS::DMS::
ReplicationSubnetGroup``, ``ReplicationInstance``, ``Endpoint``, ``ReplicationTask`` (moto has
the DMS API but no CloudFormation model for it) and ``AWS::SecretsManager::SecretTargetAttachment``
(which adds the database's address to a secret, as DMS endpoints read it).

Registered by ``compat.dms`` (one patch entry for the DMS gaps). Backed by moto's own backends,
so the API sees what the stack made, and through the same calls the API makes (``compat.dms``
validates them). Ref and GetAtt as on AWS: Ref of a subnet group is
its identifier, of the others their ARN; GetAtt ``Endpoint.ExternalId``,
``ReplicationInstance.ReplicationInstancePrivateIpAddresses``/``...PublicIpAddresses``.
"""

from __future__ import annotations

import json
from typing import Any

from reslab.localcloud.compat.cloudformation.resource_model import Model


def _dms(account_id: str, region: str) -> Any:
    from moto.dms.models import dms_backends

    return dms_backends[account_id][region]


def _name(p: dict[str, Any], key: str, resource_name: str) -> str:
    """AWS lowercases DMS identifiers; CloudFormation generates one when none is given."""
    return str(p.get(key) or resource_name).lower()


def _tags(p: dict[str, Any]) -> list[dict[str, str]]:
    return list(p.get("Tags") or [])


class ReplicationSubnetGroup(Model):
    CFN_TYPE = "AWS::DMS::ReplicationSubnetGroup"

    @classmethod
    def from_properties(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> ReplicationSubnetGroup:
        name = _name(p, "ReplicationSubnetGroupIdentifier", resource_name)
        _dms(account_id, region_name).create_replication_subnet_group(
            replication_subnet_group_identifier=name,
            replication_subnet_group_description=p["ReplicationSubnetGroupDescription"],
            subnet_ids=list(p["SubnetIds"]),
            tags=_tags(p),
        )
        return cls(name, account_id, region_name)

    def _remove(self) -> None:
        _dms(self.account_id, self.region).delete_replication_subnet_group(
            self.physical_resource_id
        )


class ReplicationInstance(Model):
    CFN_TYPE = "AWS::DMS::ReplicationInstance"

    @classmethod
    def from_properties(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> ReplicationInstance:
        instance = _dms(account_id, region_name).create_replication_instance(
            replication_instance_identifier=_name(
                p, "ReplicationInstanceIdentifier", resource_name
            ),
            replication_instance_class=p["ReplicationInstanceClass"],
            allocated_storage=int(p.get("AllocatedStorage", 50)),
            vpc_security_group_ids=list(p.get("VpcSecurityGroupIds") or []),
            availability_zone=p.get("AvailabilityZone"),
            replication_subnet_group_identifier=p.get("ReplicationSubnetGroupIdentifier"),
            multi_az=str(p.get("MultiAZ", "false")).lower() == "true",
            engine_version=p.get("EngineVersion"),
            auto_minor_version_upgrade=str(p.get("AutoMinorVersionUpgrade", "true")).lower()
            == "true",
            tags=_tags(p),
            kms_key_id=p.get("KmsKeyId"),
            publicly_accessible=str(p.get("PubliclyAccessible", "true")).lower() == "true",
        )
        instance.status = "available"  # CloudFormation completes once the instance is
        return cls(
            instance.arn,
            account_id,
            region_name,
            Id=instance.arn,
            ReplicationInstancePrivateIpAddresses=",".join(instance.private_ip_addresses),
            ReplicationInstancePublicIpAddresses=",".join(instance.public_ip_addresses),
        )

    def _remove(self) -> None:
        _dms(self.account_id, self.region).delete_replication_instance(self.physical_resource_id)


#: AWS::DMS::Endpoint settings blocks -> moto's create_endpoint keyword.
_SETTINGS = {
    "MySqlSettings": "my_sql_settings",
    "PostgreSqlSettings": "postgre_sql_settings",
}
#: moto's create_endpoint keywords that CloudFormation's model leaves out here.
_UNUSED = [
    "dynamo_db_settings",
    "s3_settings",
    "dms_transfer_settings",
    "mongo_db_settings",
    "kinesis_settings",
    "kafka_settings",
    "elasticsearch_settings",
    "neptune_settings",
    "redshift_settings",
    "oracle_settings",
    "sybase_settings",
    "microsoft_sql_server_settings",
    "ibm_db2_settings",
    "doc_db_settings",
    "redis_settings",
    "gcp_my_sql_settings",
    "timestream_settings",
    "external_table_definition",
    "certificate_arn",
    "service_access_role_arn",
    "resource_identifier",
]


class Endpoint(Model):
    CFN_TYPE = "AWS::DMS::Endpoint"

    @classmethod
    def from_properties(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> Endpoint:
        settings = {moto_key: p.get(cfn_key) for cfn_key, moto_key in _SETTINGS.items()}
        endpoint = _dms(account_id, region_name).create_endpoint(
            endpoint_identifier=_name(p, "EndpointIdentifier", resource_name),
            endpoint_type=p["EndpointType"],
            engine_name=p["EngineName"],
            username=p.get("Username"),
            password=p.get("Password"),
            server_name=p.get("ServerName"),
            port=int(p["Port"]) if p.get("Port") else None,
            database_name=p.get("DatabaseName"),
            extra_connection_attributes=p.get("ExtraConnectionAttributes"),
            kms_key_id=p.get("KmsKeyId"),
            tags=_tags(p),
            ssl_mode=p.get("SslMode", "none"),
            **settings,
            **dict.fromkeys(_UNUSED),
        )
        endpoint.status = "active"
        return cls(endpoint.endpoint_arn, account_id, region_name, ExternalId=endpoint.id)

    def _remove(self) -> None:
        _dms(self.account_id, self.region).delete_endpoint(self.physical_resource_id)


class ReplicationTask(Model):
    CFN_TYPE = "AWS::DMS::ReplicationTask"

    @classmethod
    def from_properties(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> ReplicationTask:
        task = _dms(account_id, region_name).create_replication_task(
            replication_task_identifier=_name(p, "ReplicationTaskIdentifier", resource_name),
            source_endpoint_arn=p["SourceEndpointArn"],
            target_endpoint_arn=p["TargetEndpointArn"],
            replication_instance_arn=p["ReplicationInstanceArn"],
            migration_type=p["MigrationType"],
            table_mappings=_json_text(p["TableMappings"]),
            replication_task_settings=_json_text(p.get("ReplicationTaskSettings")),
            tags=_tags(p),
        )
        task.status = "ready"  # CloudFormation completes once the task is ready (not started)
        return cls(task.arn, account_id, region_name)

    def _remove(self) -> None:
        _dms(self.account_id, self.region).delete_replication_task(self.physical_resource_id)


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) or value is None else json.dumps(value)


class SecretTargetAttachment(Model):
    CFN_TYPE = "AWS::SecretsManager::SecretTargetAttachment"

    @classmethod
    def from_properties(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> SecretTargetAttachment:
        from moto.rds.models import rds_backends
        from moto.secretsmanager.models import secretsmanager_backends

        if p["TargetType"] != "AWS::RDS::DBInstance":
            raise ValueError(f"SecretTargetAttachment TargetType {p['TargetType']} not emulated")
        database = rds_backends[account_id][region_name].databases[p["TargetId"]]
        secrets = secretsmanager_backends[account_id][region_name]
        value = json.loads(
            secrets.get_secret_value(p["SecretId"], None, "AWSCURRENT")["SecretString"]
        )
        value.update(
            engine=database.engine,
            host=database.address,
            port=int(database.port),
            dbInstanceIdentifier=database.db_instance_identifier,
        )
        secrets.put_secret_value(p["SecretId"], json.dumps(value), None, None, ["AWSCURRENT"])
        arn = secrets.describe_secret(p["SecretId"]).arn
        return cls(arn, account_id, region_name, Id=arn)


MODELS: tuple[type[Model], ...] = (
    ReplicationSubnetGroup,
    ReplicationInstance,
    Endpoint,
    ReplicationTask,
    SecretTargetAttachment,
)
