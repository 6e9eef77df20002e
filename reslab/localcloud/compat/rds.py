"""RDS in moto 5.2.5 vs AWS, and the hook that backs every DB instance with a real database.

* Every DB instance created through the API or CloudFormation (incl. read replicas and
  restores) gets a real database (``reslab.localcloud.dbbacking``); Endpoint.Address/Port point to
  it; deleting the instance drops it.
* ``ManageMasterUserPassword``: moto's secret holds a fixed fake password; we overwrite it with the
  real credentials (``username``, ``password`` + ``engine``, ``host``, ``port``, ``dbname``).
  CloudFormation ignored the property entirely (no secret) -- we pass it through, together
  with ``MasterUserSecret.KmsKeyId``, ``DeletionProtection`` and the engine's default port.
* ``Fn::GetAtt`` supports ``MasterUserSecret.SecretArn``, ``DBInstanceArn`` and ``DbiResourceId``
  besides moto's ``Endpoint.Address``/``Endpoint.Port``.
* A cross-region read replica in its own subnet group failed with DBSubnetGroupNotFound: moto
  looked the group up in the primary's region.
* A cross-region read replica could not be deleted (moto stored it by ARN on the primary and
  removed it by id: ValueError, then "DBInstance not found" on CloudFormation's retry).
* Outages are real: ``RebootDBInstance`` (also with ForceFailover) drops the database's
  connections and refuses new ones for ``reboot_seconds()``; ``StopDBInstance`` refuses them
  until ``StartDBInstance`` (PostgreSQL: ``ALLOW_CONNECTIONS false`` + ``pg_terminate_backend``;
  MySQL: ``ACCOUNT LOCK`` + ``KILL``).
* Deleting a primary promotes its read replicas (as on AWS); moto left them pointing at the
  gone primary, and deleting them then failed.
* Snapshots carry real data too: ``compat.rds_snapshots`` (installed after this module).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from reslab.dburl import DbTarget
from reslab.localcloud import dbbacking
from reslab.localcloud.context import cloud_context
from reslab.localcloud.network import service as network

_cfn = threading.local()
_installed = False

_ENGINE_NAMES = {"postgres": "postgres", "mysql": "mysql"}


#: A reboot (or Multi-AZ failover) keeps the database away this long on AWS (seconds); locally
#: it is divided by the cloud's time_scale, or 1 s without one.
REBOOT_SECONDS = 60.0


def reboot_seconds() -> float:
    return REBOOT_SECONDS / cloud_context.time_scale if cloud_context.time_scale else 1.0


def _cfn_extras(properties: dict[str, Any]) -> dict[str, Any]:
    """db_kwargs moto's CloudFormation model drops."""
    extras: dict[str, Any] = {}
    if properties.get("ManageMasterUserPassword") in (True, "true", "True"):
        extras["manage_master_user_password"] = True
        kms = (properties.get("MasterUserSecret") or {}).get("KmsKeyId")
        if kms:
            extras["master_user_secret_kms_key_id"] = kms
    if "DeletionProtection" in properties:
        extras["deletion_protection"] = properties["DeletionProtection"] in (True, "true", "True")
    return extras


def _real_engine(template_engine: str | None, backing_engine: str) -> str:
    if backing_engine == "mysql" and template_engine in ("mysql", "mariadb"):
        return template_engine
    return _ENGINE_NAMES[backing_engine]


#: Instance ARN -> its backing database, kept from provisioning on: the backing in use may be
#: switched afterwards (``dbbacking.switch_backing``), the instance keeps its database.
_TARGETS: dict[str, DbTarget] = {}


def target_of(database: Any) -> DbTarget | None:
    """The real database behind a moto DB instance."""
    found = _TARGETS.get(database.db_instance_arn)
    return found or dbbacking.target_for(database.db_instance_identifier)


def attach_real_database(database: Any, login_from: str | None = None) -> None:
    """Provision the real DB for a fresh moto instance and point the instance at it.

    Provisioning steps out of the request lock, so meanwhile others see the instance
    ``creating`` (as on AWS), not ``available`` at moto's made-up endpoint."""
    store = dbbacking.backing()
    status, database.status = database.status, "creating"
    try:
        target = store.provision_instance(
            database.db_instance_identifier,
            database.engine,
            getattr(database, "db_name", None),
            getattr(database, "master_username", None),
            login_from=login_from,
        )
    finally:
        database.status = status
    _TARGETS[database.db_instance_arn] = target
    database.engine = _real_engine(database.engine, store.engine)
    # with the network model the endpoint keeps its own port (gap 43): callers dial the name
    database.port = int(database.port or target.port) if network.enabled() else target.port
    database.db_name = target.dbname
    if getattr(database, "manage_master_user_password", False):
        store_credentials(database, target)


def store_credentials(database: Any, target: DbTarget, login: DbTarget | None = None) -> None:
    """Put the real credentials in the instance's managed secret: ``target``'s endpoint and
    database, with ``login``'s user and password (default: ``target``'s own)."""
    login = login or target
    if network.enabled():  # the endpoint, as on AWS (gap 43)
        host, port = network.moto_address(database), int(database.port)
    else:
        host, port = target.socket_dir or target.host, target.port
    secret_string = json.dumps(
        {
            "username": login.user,
            "password": login.password,
            "engine": target.engine,
            "host": host,
            "port": port,
            "dbname": target.dbname,
        }
    )
    secret = database.master_user_secret.secret
    database.backend.secretsmanager.put_secret_value(
        secret.arn, secret_string, None, None, ["AWSCURRENT"]
    )


def _promote_replicas(backend: Any, primary: Any) -> None:
    """AWS turns the read replicas of a deleted primary into standalone instances (moto kept
    them pointing at the gone primary, so deleting them failed with DBInstanceNotFound)."""
    from moto.rds.models import rds_backends

    for ref in list(getattr(primary, "replicas", [])):
        if ref.startswith("arn:"):
            parts = ref.split(":")
            replica = rds_backends[backend.account_id][parts[3]].databases.get(parts[-1])
        else:
            replica = backend.databases.get(ref)
        if replica is not None:
            replica.is_replica = False
            replica.source_db_instance_identifier = None
            dbbacking.backing().promote(replica.db_instance_identifier)
        primary.replicas.remove(ref)


def _patch_backend() -> None:
    from moto.rds.models import DBInstance, RDSBackend

    create = RDSBackend.create_db_instance
    create_replica = RDSBackend.create_db_instance_read_replica
    delete = RDSBackend.delete_db_instance

    def create_db_instance(self: Any, db_kwargs: dict[str, Any]) -> Any:
        extras = getattr(_cfn, "extras", None)
        if extras:
            db_kwargs = {**db_kwargs, **extras}
        database = create(self, db_kwargs)
        try:
            attach_real_database(database)
        except Exception:
            self.databases.pop(database.db_instance_identifier, None)
            raise
        return database

    def create_db_instance_read_replica(self: Any, db_kwargs: dict[str, Any]) -> Any:
        if self.arn_regex.match(str(db_kwargs["source_db_instance_identifier"])):
            # A cross-region replica is a copy of its primary whose ``backend`` (hence region)
            # moto replaces among the other settings, after the subnet group, which it then
            # looked up in the PRIMARY's region: DBSubnetGroupNotFound for the replica's own.
            db_kwargs = {"backend": self, **db_kwargs}
        replica = create_replica(self, db_kwargs)
        # copy.copy(primary) shares the primary's secret object; a replica has none of its own.
        replica.manage_master_user_password = False
        # copy.copy also keeps the primary's parameter group NAME, which does not exist in the
        # replica's region (KeyError -> HTTP 500 on every describe); AWS uses the default group
        # there unless one is given.
        group = db_kwargs.get("db_parameter_group_name")
        if not group or group not in self.db_parameter_groups:
            replica.db_parameter_group_name = None
        # As on AWS, the primary's master user and password (its secret) work on the replica.
        source = str(db_kwargs["source_db_instance_identifier"]).rsplit(":", 1)[-1]
        attach_real_database(replica, login_from=source)
        return replica

    def delete_db_instance(self: Any, db_instance_identifier: str, *args: Any, **kw: Any) -> Any:
        primary = self.databases.get(db_instance_identifier)
        if primary is not None and not primary.deletion_protection:
            _promote_replicas(self, primary)
        database = delete(self, db_instance_identifier, *args, **kw)
        _TARGETS.pop(database.db_instance_arn, None)
        net = network.existing()
        if net is not None:
            net.hang_up(self.region_name, db_instance_identifier)
        dbbacking.backing().drop_instance(db_instance_identifier)
        return database

    def remove_replica(self: Any, replica: Any) -> None:
        # moto records a cross-region replica by ARN but removed it by id (ValueError).
        for key in (replica.db_instance_identifier, replica.db_instance_arn):
            if key in self.replicas:
                self.replicas.remove(key)

    DBInstance.remove_replica = remove_replica
    reboot = RDSBackend.reboot_db_instance
    stop = RDSBackend.stop_db_instance
    start = RDSBackend.start_db_instance

    def reboot_db_instance(self: Any, db_instance_identifier: str, *args: Any, **kw: Any) -> Any:
        database = reboot(self, db_instance_identifier, *args, **kw)
        dbbacking.backing().interrupt(db_instance_identifier, reboot_seconds())
        return database

    def stop_db_instance(self: Any, db_instance_identifier: str, *args: Any, **kw: Any) -> Any:
        database = stop(self, db_instance_identifier, *args, **kw)
        dbbacking.backing().block(db_instance_identifier)
        return database

    def start_db_instance(self: Any, db_instance_identifier: str, *args: Any, **kw: Any) -> Any:
        database = start(self, db_instance_identifier, *args, **kw)
        dbbacking.backing().unblock(db_instance_identifier)
        return database

    RDSBackend.reboot_db_instance = reboot_db_instance
    RDSBackend.stop_db_instance = stop_db_instance
    RDSBackend.start_db_instance = start_db_instance
    RDSBackend.create_db_instance = create_db_instance
    RDSBackend.create_db_instance_read_replica = create_db_instance_read_replica
    RDSBackend.delete_db_instance = delete_db_instance


def _patch_model() -> None:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.rds.models import DBInstance

    moto_address = DBInstance.address
    create_cfn = DBInstance.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def address(self: Any) -> str:
        if network.enabled():  # moto's DNS-shaped name, resolved per caller (gap 43)
            return moto_address.fget(self)  # type: ignore[no-any-return]
        target = dbbacking.target_for(self.db_instance_identifier)
        if target is None:
            return moto_address.fget(self)  # type: ignore[no-any-return]
        return target.socket_dir or target.host

    def has_cfn_attr(cls: Any, attr: str) -> bool:
        return attr in _GETATT

    def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        getter = _GETATT.get(attribute_name)
        if getter is None:
            raise UnformattedGetAttTemplateException()
        return getter(self)

    def create_from_cloudformation_json(
        cls: Any,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        properties = cloudformation_json.get("Properties", {})
        # CloudFormation's name for the groups is VPCSecurityGroups; moto reads only
        # VpcSecurityGroupIds, so the instance got the default VPC's default group (gap 46)
        if "VPCSecurityGroups" in properties and "VpcSecurityGroupIds" not in properties:
            properties["VpcSecurityGroupIds"] = properties["VPCSecurityGroups"]
        _cfn.extras = _cfn_extras(properties)
        if "Port" not in properties and properties.get("Engine"):
            properties["Port"] = DBInstance.default_port(properties["Engine"])
        # moto resolves {"Ref": <AWS::RDS::DBParameterGroup>} to the group OBJECT, not its name
        group = properties.get("DBParameterGroupName")
        if group is not None and not isinstance(group, str):
            properties["DBParameterGroupName"] = group.name
        try:
            return create_cfn(
                cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
            )
        finally:
            _cfn.extras = None

    DBInstance.address = property(address)  # type: ignore[assignment]
    DBInstance.has_cfn_attr = classmethod(has_cfn_attr)  # type: ignore[assignment]
    DBInstance.get_cfn_attribute = get_cfn_attribute  # type: ignore[method-assign]
    DBInstance.create_from_cloudformation_json = classmethod(  # type: ignore[assignment]
        create_from_cloudformation_json
    )


_GETATT: dict[str, Callable[[Any], Any]] = {
    "Endpoint.Address": lambda db: db.address,
    "Endpoint.Port": lambda db: str(db.port),
    "DBInstanceArn": lambda db: db.db_instance_arn,
    "DbiResourceId": lambda db: db.dbi_resource_id,
    "MasterUserSecret.SecretArn": lambda db: db.master_user_secret.secret_arn,
}


def install() -> None:
    global _installed
    if _installed:
        return
    _patch_backend()
    _patch_model()
    _installed = True
