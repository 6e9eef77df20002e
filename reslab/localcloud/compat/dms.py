"""AWS DMS in moto 5.2.5 vs AWS: a replication task that really moves rows.

moto keeps DMS resources as records only: StartReplicationTask flips the status to ``running``
and moves nothing, the task statistics are constants (100 %, one table), there is no
DescribeTableStatistics, an endpoint's ``SecretsManagerSecretId`` is stored and never read, a
subnet group ignores its subnets, and a running task, or an endpoint or instance a task uses,
can be deleted. Here:

* StartReplicationTask (``StartReplicationTaskType`` honoured) resolves both endpoints --
  credentials and address from the Secrets Manager secret when the endpoint names one (the
  access role must exist), else from the endpoint's own fields -- and runs a
  :class:`reslab.localcloud.dms.ReplicationTask` between the real databases behind them;
  StopReplicationTask stops it (``stopping`` -> ``stopped``), a later start resumes.
* DescribeReplicationTasks shows the engine's status, StopReason, LastFailureMessage and
  ReplicationTaskStats; DescribeTableStatistics (added) its per-table rows; both publish the
  task's ``CDCLatencySource``/``CDCLatencyTarget`` to CloudWatch (``AWS/DMS``), where AWS
  publishes them.
* CreateReplicationTask validates TableMappings and ReplicationTaskSettings as AWS does
  (InvalidParameterValueException), and the endpoints and instance it names must exist; the
  task is ``creating`` in the response and ``ready`` from the next describe (moto: ``creating``
  forever, and startable in any state).
* Endpoints: a secret without its access role, or with a password as well, is refused
  (InvalidParameterCombinationException).
* CreateReplicationSubnetGroup checks the subnets exist, lie in one VPC and cover two AZs
  (ReplicationSubnetGroupDoesNotCoverEnoughAZs), and describes them; like AWS it needs the
  account's ``dms-vpc-role`` (gap 57: AccessDeniedFault without it; ``reslab install`` creates
  it, ``installer/dms_roles.py``).
* Deleting a task that runs, or an endpoint or an instance that a task uses:
  InvalidResourceStateFault.

* CloudFormation: the DMS resource types and ``AWS::SecretsManager::SecretTargetAttachment``
  (``compat/cloudformation/dms_types.py``, registered here).

The engine's threads never touch moto's state; waiting for a task to stop steps out of the
request lock (``serialise.released``).
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

from moto.core.exceptions import JsonRESTError

from reslab.dburl import DbTarget
from reslab.errors import ReslabError
from reslab.localcloud.compat.cloudformation import dms_types
from reslab.localcloud.compat.cloudformation.resource_model import register
from reslab.localcloud.context import cloud_context
from reslab.localcloud.dms import ReplicationTask, TaskSettings, parse_table_mappings
from reslab.localcloud.dms.errors import UnsupportedEndpoint
from reslab.localcloud.network.service import backing_target
from reslab.localcloud.serialise import released

#: DMS engine names -> the engine of the database behind them.
ENGINES: dict[str, str] = {
    "mysql": "mysql",
    "mariadb": "mysql",
    "aurora": "mysql",
    "postgres": "postgres",
    "aurora-postgresql": "postgres",
}
_ACTIVE = ("starting", "running", "stopping")
_installed = False


class InvalidParameterValueException(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("InvalidParameterValueException", message)


class ReplicationSubnetGroupDoesNotCoverEnoughAZs(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("ReplicationSubnetGroupDoesNotCoverEnoughAZs", message)


class InvalidSubnet(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("InvalidSubnet", message)


class AccessDeniedFault(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("AccessDeniedFault", message)


#: The account-wide role DMS assumes to place a subnet group's network interfaces.
DMS_VPC_ROLE = "dms-vpc-role"


def _check_vpc_role(backend: Any) -> None:
    """AWS refuses a replication subnet group while the account has no ``dms-vpc-role``."""
    from moto.iam.models import iam_backends

    iam = iam_backends[backend.account_id][backend.partition]
    if not any(role.name == DMS_VPC_ROLE for role in iam.roles.values()):
        raise AccessDeniedFault(
            f"The IAM Role arn:{backend.partition}:iam::{backend.account_id}:role/"
            f"{DMS_VPC_ROLE} is not configured properly."
        )


class LocalTasks:
    """The engine tasks behind moto's replication tasks (a local-cloud service)."""

    def __init__(self) -> None:
        self.tasks: dict[str, ReplicationTask] = {}
        self.lock = threading.Lock()

    def get(self, arn: str) -> ReplicationTask | None:
        with self.lock:
            return self.tasks.get(arn)

    def put(self, arn: str, task: ReplicationTask) -> None:
        with self.lock:
            self.tasks[arn] = task

    def pop(self, arn: str) -> ReplicationTask | None:
        with self.lock:
            return self.tasks.pop(arn, None)

    def reset(self) -> None:
        with self.lock:
            tasks, self.tasks = list(self.tasks.values()), {}
        for task in tasks:
            try:
                task.delete()
            except Exception:  # noqa: BLE001, S112 - best effort: the databases may be gone
                continue

    def shutdown(self) -> None:
        self.reset()


def local_tasks() -> LocalTasks:
    return cloud_context.service("dms", LocalTasks)  # type: ignore[no-any-return]


# -- endpoints -------------------------------------------------------------------------------------
def _settings(endpoint: Any) -> dict[str, Any]:
    engine = ENGINES.get(endpoint.engine_name)
    settings = endpoint.my_sql_settings if engine == "mysql" else endpoint.postgre_sql_settings
    return dict(settings or {})


def check_endpoint(endpoint: Any) -> None:
    settings = _settings(endpoint)
    secret, role = (
        settings.get("SecretsManagerSecretId"),
        settings.get("SecretsManagerAccessRoleArn"),
    )
    if secret and not role:
        raise _combination("SecretsManagerSecretId needs SecretsManagerAccessRoleArn")
    if secret and (endpoint.password or endpoint.username):
        raise _combination("give either SecretsManagerSecretId or Username/Password, not both")


def _combination(message: str) -> Exception:
    from moto.dms.exceptions import InvalidParameterCombinationException

    return InvalidParameterCombinationException(message)


def resolve_endpoint(endpoint: Any, account_id: str, region: str) -> DbTarget:
    """The real database an endpoint names, with the credentials it would log in with."""
    engine = ENGINES.get(endpoint.engine_name)
    if engine is None:
        raise UnsupportedEndpoint(
            f"endpoint {endpoint.endpoint_identifier}: engine {endpoint.engine_name!r} is not "
            f"run locally (supported: {', '.join(sorted(ENGINES))})"
        )
    settings = _settings(endpoint)
    values: dict[str, Any] = {
        "username": endpoint.username,
        "password": endpoint.password,
        "host": endpoint.server_name,
        "port": endpoint.port,
    }
    if settings.get("SecretsManagerSecretId"):
        values.update(_secret(settings, region, account_id))
    missing = [k for k in ("username", "host", "port") if not values.get(k)]
    if missing:
        raise UnsupportedEndpoint(
            f"endpoint {endpoint.endpoint_identifier} has no {', '.join(missing)}"
        )
    host = str(values["host"])
    real = backing_target(host)  # an RDS endpoint name: DMS, AWS's own service, reaches it
    if real is not None:
        host, values["port"] = real.socket_dir or real.host, real.port
    default_db = "information_schema" if engine == "mysql" else "postgres"
    return DbTarget(
        engine=engine,  # type: ignore[arg-type]
        host=host,
        port=int(values["port"]),
        user=str(values["username"]),
        password=str(values.get("password") or ""),
        dbname=endpoint.database_name or values.get("dbname") or default_db,
        socket_dir=host if host.startswith("/") else None,
    )


def _secret(settings: dict[str, Any], region: str, account_id: str) -> dict[str, Any]:
    from moto.iam.models import iam_backends
    from moto.secretsmanager.models import secretsmanager_backends

    role_arn = settings["SecretsManagerAccessRoleArn"]
    try:
        iam_backends[account_id]["global"].get_role_by_arn(role_arn)
    except Exception:  # noqa: BLE001 - moto's NotFound
        raise AccessDenied(f"SecretsManagerAccessRoleArn {role_arn} does not exist") from None
    secret_id = str(settings["SecretsManagerSecretId"])
    secret_region = secret_id.split(":")[3] if secret_id.startswith("arn:") else region
    value = secretsmanager_backends[account_id][secret_region].get_secret_value(
        secret_id, None, "AWSCURRENT"
    )
    return dict(json.loads(value["SecretString"]))


def _failure(exc: BaseException) -> str:
    name = getattr(exc, "error_type", None) or type(exc).__name__
    message = getattr(exc, "message", None) or str(exc)
    return f"{name}: {message}"


class AccessDenied(ReslabError):
    """DMS could not assume the role that reads an endpoint's secret."""


# -- tasks -------------------------------------------------------------------------------------
def _endpoint_by_arn(backend: Any, arn: str) -> Any:
    from moto.dms.exceptions import ResourceNotFoundFault

    for endpoint in backend.endpoints.values():
        if endpoint.endpoint_arn == arn:
            return endpoint
    raise ResourceNotFoundFault(f"Endpoint {arn} not found")


def _engine_task(backend: Any, task: Any) -> ReplicationTask:
    source = _endpoint_by_arn(backend, task.source_endpoint_arn)
    target = _endpoint_by_arn(backend, task.target_endpoint_arn)
    target_settings = _settings(target)
    single = target_settings.get("TargetDbType", "").replace("_", "-").lower()
    return ReplicationTask(
        identifier=task.id,
        source=resolve_endpoint(source, backend.account_id, backend.region_name),
        target=resolve_endpoint(target, backend.account_id, backend.region_name),
        mappings=parse_table_mappings(task.table_mappings),
        migration_type=task.migration_type,
        settings=TaskSettings.parse(task.replication_task_settings),
        target_schema=target.database_name if single == "specific-database" else None,
    )


def _iso(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch, UTC).isoformat() if epoch else None


def _publish_latency(backend: Any, task: Any, engine: ReplicationTask) -> None:
    if engine.status != "running":
        return
    from moto.cloudwatch.models import cloudwatch_backends

    instance = backend.replication_instances.get(task.replication_instance_arn)
    dimensions = [
        {"Name": "ReplicationInstanceIdentifier", "Value": instance.id if instance else ""},
        {"Name": "ReplicationTaskIdentifier", "Value": task.arn.rsplit(":", 1)[-1]},
    ]
    metrics = [
        {"MetricName": name, "Value": value, "Unit": "Seconds", "Dimensions": dimensions}
        for name, value in engine.latency().items()
    ]
    cloudwatch_backends[backend.account_id][backend.region_name].put_metric_data("AWS/DMS", metrics)


def _patch_task_model() -> None:
    from moto.dms.models import FakeReplicationTask

    to_dict = FakeReplicationTask.to_dict

    def engine_to_dict(self: Any) -> dict[str, Any]:
        data = to_dict(self)
        engine = local_tasks().get(self.arn)
        if engine is None:
            data["ReplicationTaskStats"] = None  # moto's constants said 100 % of one table
            failure = getattr(self, "reslab_failure", None)
            if failure:
                data.update(LastFailureMessage=failure, StopReason="Stop Reason FATAL_ERROR")
            return {k: v for k, v in data.items() if v is not None}
        stats = engine.task_stats()
        for key in ("FreshStartDate", "StartDate", "StopDate", "FullLoadStartDate"):
            stats[key] = _iso(stats[key])
        stats["FullLoadFinishDate"] = _iso(stats["FullLoadFinishDate"])
        data.update(
            Status=engine.status,
            ReplicationTaskStats=stats,
            StopReason=engine.stop_reason,
            LastFailureMessage=engine.last_failure,
            ReplicationTaskStartDate=_iso(engine.started_at),
        )
        return {k: v for k, v in data.items() if v is not None}

    FakeReplicationTask.to_dict = engine_to_dict  # type: ignore[method-assign]


def _patch_backend() -> None:
    from moto.dms.exceptions import InvalidResourceStateFault, ResourceNotFoundFault
    from moto.dms.models import DatabaseMigrationServiceBackend as Backend

    create_task = Backend.create_replication_task
    describe_tasks = Backend.describe_replication_tasks
    delete_task = Backend.delete_replication_task
    create_endpoint = Backend.create_endpoint
    delete_endpoint = Backend.delete_endpoint
    delete_instance = Backend.delete_replication_instance
    create_subnet_group = Backend.create_replication_subnet_group
    delete_subnet_group = Backend.delete_replication_subnet_group

    def create_replication_task(self: Any, *args: Any, **kw: Any) -> Any:
        try:
            parse_table_mappings(kw["table_mappings"])
            TaskSettings.parse(kw.get("replication_task_settings"))
        except ReslabError as exc:
            raise InvalidParameterValueException(str(exc)) from None
        for arn in (kw["source_endpoint_arn"], kw["target_endpoint_arn"]):
            _endpoint_by_arn(self, arn)
        if kw["replication_instance_arn"] not in self.replication_instances:
            raise ResourceNotFoundFault("Replication instance could not be found.")
        return create_task(self, *args, **kw)

    def describe_replication_tasks(self: Any, *args: Any, **kw: Any) -> Any:
        tasks = describe_tasks(self, *args, **kw)
        for task in tasks:
            if task.status == "creating":
                task.status = "ready"
            engine = local_tasks().get(task.arn)
            if engine is not None:
                _publish_latency(self, task, engine)
        return tasks

    def start_replication_task(
        self: Any, replication_task_arn: str, start_type: str = "start-replication"
    ) -> Any:
        arn = replication_task_arn
        task = self.replication_tasks.get(arn)
        if task is None:
            raise ResourceNotFoundFault("Replication task could not be found.")
        engine = local_tasks().get(arn)
        status = engine.status if engine else task.status
        if status not in ("ready", "stopped", "failed"):
            raise InvalidResourceStateFault(f"Replication task is {status}: it cannot start")
        if engine is None or start_type != "resume-processing":
            try:
                engine = _engine_task(self, task)
            except Exception as exc:  # noqa: BLE001 - AWS fails the task, not the call
                task.status, task.reslab_failure = "failed", _failure(exc)
                local_tasks().pop(arn)
                return task
            local_tasks().put(arn, engine)
        task.reslab_failure = None
        engine.start(start_type)
        return task

    def stop_replication_task(self: Any, replication_task_arn: str) -> Any:
        arn = replication_task_arn
        task = self.replication_tasks.get(arn)
        if task is None:
            raise ResourceNotFoundFault("Replication task could not be found.")
        engine = local_tasks().get(arn)
        if engine is None or engine.status not in ("starting", "running"):
            raise InvalidResourceStateFault("Replication task is not running")
        with released():
            engine.stop()
        return task

    def delete_replication_task(self: Any, replication_task_arn: str) -> Any:
        arn = replication_task_arn
        engine = local_tasks().get(arn)
        if engine is not None and engine.status in _ACTIVE:
            raise InvalidResourceStateFault(
                "Replication task is running: stop it before deleting it"
            )
        task = delete_task(self, arn)
        engine = local_tasks().pop(arn)
        if engine is not None:
            with released():
                engine.delete()
        return task

    def create_endpoint_checked(self: Any, *args: Any, **kw: Any) -> Any:
        endpoint = create_endpoint(self, *args, **kw)
        try:
            check_endpoint(endpoint)
        except Exception:
            self.endpoints.pop(endpoint.endpoint_identifier, None)
            raise
        return endpoint

    def delete_endpoint_unused(self: Any, endpoint_arn: str) -> Any:
        users = [t.id for t in self.replication_tasks.values() if endpoint_arn in _endpoints(t)]
        if users:
            raise InvalidResourceStateFault(
                f"Endpoint is in use by replication task(s) {', '.join(users)}"
            )
        return delete_endpoint(self, endpoint_arn)

    def delete_instance_unused(self: Any, replication_instance_arn: str) -> Any:
        arn = replication_instance_arn
        users = [t.id for t in self.replication_tasks.values() if t.replication_instance_arn == arn]
        if users:
            raise InvalidResourceStateFault(
                f"Replication instance has replication task(s) {', '.join(users)}"
            )
        return delete_instance(self, arn)

    def create_subnet_group_checked(self: Any, *args: Any, **kw: Any) -> Any:
        _check_vpc_role(self)
        subnets = _check_subnets(self, list(kw.get("subnet_ids") or []))
        group = create_subnet_group(self, *args, **kw)
        group.reslab_subnets = subnets
        if kw.get("tags"):  # moto tags it under its name; AWS under its ARN (ListTagsForResource)
            self.tagger.tag_resource(_subnet_group_arn(self, group), kw["tags"])
        return group

    def delete_subnet_group_untagged(self: Any, identifier: str) -> Any:
        group = self.replication_subnet_groups.get(identifier)
        result = delete_subnet_group(self, identifier)
        if group is not None:
            self.tagger.delete_all_tags_for_resource(_subnet_group_arn(self, group))
        return result

    Backend.create_replication_task = create_replication_task  # type: ignore[method-assign]
    Backend.describe_replication_tasks = describe_replication_tasks  # type: ignore[method-assign]
    Backend.start_replication_task = start_replication_task  # type: ignore[method-assign]
    Backend.stop_replication_task = stop_replication_task  # type: ignore[method-assign]
    Backend.delete_replication_task = delete_replication_task  # type: ignore[method-assign]
    Backend.create_endpoint = create_endpoint_checked  # type: ignore[method-assign]
    Backend.delete_endpoint = delete_endpoint_unused  # type: ignore[method-assign]
    Backend.delete_replication_instance = delete_instance_unused  # type: ignore[method-assign]
    Backend.create_replication_subnet_group = create_subnet_group_checked  # type: ignore[method-assign]
    Backend.delete_replication_subnet_group = delete_subnet_group_untagged  # type: ignore[method-assign]


def _subnet_group_arn(backend: Any, group: Any) -> str:
    return (
        f"arn:aws:dms:{backend.region_name}:{backend.account_id}:subgrp:"
        f"{group.replication_subnet_group_identifier}"
    )


def _endpoints(task: Any) -> tuple[str, str]:
    return task.source_endpoint_arn, task.target_endpoint_arn


def _check_subnets(backend: Any, subnet_ids: list[str]) -> list[Any]:
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[backend.account_id][backend.region_name]
    subnets = []
    for subnet_id in subnet_ids:
        try:
            subnets.append(ec2.get_subnet(subnet_id))
        except Exception:  # noqa: BLE001 - moto's InvalidSubnetIdError
            raise InvalidSubnet(f"The subnet ID '{subnet_id}' does not exist") from None
    if len({s.vpc_id for s in subnets}) > 1:
        raise InvalidSubnet("The subnets of a replication subnet group must be in one VPC")
    if len({s.availability_zone for s in subnets}) < 2:
        raise ReplicationSubnetGroupDoesNotCoverEnoughAZs(
            "The Replication Subnet Group must cover at least two Availability Zones"
        )
    return subnets


def _patch_subnet_group_model() -> None:
    from moto.dms.models import FakeReplicationSubnetGroup

    to_dict = FakeReplicationSubnetGroup.to_dict

    def real_subnets(self: Any) -> dict[str, Any]:
        data = to_dict(self)
        subnets = getattr(self, "reslab_subnets", None)
        if subnets:
            data["VpcId"] = subnets[0].vpc_id
            data["Subnets"] = [
                {
                    "SubnetIdentifier": s.id,
                    "SubnetAvailabilityZone": {"Name": s.availability_zone},
                    "SubnetStatus": "Active",
                }
                for s in subnets
            ]
        return data

    FakeReplicationSubnetGroup.to_dict = real_subnets  # type: ignore[method-assign]


def _patch_responses() -> None:
    from moto.dms.exceptions import ResourceNotFoundFault
    from moto.dms.responses import DatabaseMigrationServiceResponse as Responses

    def start_replication_task(self: Any) -> str:
        task = self.dms_backend.start_replication_task(
            self._get_param("ReplicationTaskArn"),
            self._get_param("StartReplicationTaskType") or "start-replication",
        )
        return json.dumps({"ReplicationTask": task.to_dict()})

    def describe_table_statistics(self: Any) -> str:
        arn = self._get_param("ReplicationTaskArn")
        backend = self.dms_backend
        task = backend.replication_tasks.get(arn)
        if task is None:
            raise ResourceNotFoundFault("Replication task could not be found.")
        engine = local_tasks().get(arn)
        rows = engine.table_statistics() if engine else []
        if engine is not None:
            _publish_latency(backend, task, engine)
        for wanted in self._get_param("Filters") or []:
            field = {"schema-name": "SchemaName", "table-name": "TableName"}.get(
                wanted.get("Name"), "TableState"
            )
            rows = [r for r in rows if r[field] in wanted.get("Values", [])]
        return json.dumps({"ReplicationTaskArn": arn, "TableStatistics": rows})

    Responses.start_replication_task = start_replication_task  # type: ignore[method-assign]
    Responses.describe_table_statistics = describe_table_statistics  # type: ignore[attr-defined]


def install() -> None:
    global _installed
    if _installed:
        return
    _patch_task_model()
    _patch_subnet_group_model()
    _patch_backend()
    _patch_responses()
    register(dms_types.MODELS)
    _installed = True
