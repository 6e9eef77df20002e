"""moto's DMS drives the local engine: endpoints read their secrets, a task started through the
API moves rows between two RDS instances and reports them, and AWS's refusals hold."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reslab.checks import run_checks
from reslab.dburl import DbTarget, connect, parse_db_url
from reslab.localcloud import dbbacking
from reslab.localcloud.dms import schema_mappings
from reslab.localcloud.testing import unique_prefix
from tests.dms.conftest import lab_schema
from tests.dms.writer import write_hits
from tests.localcloud.instances import create_instance
from webapp.schema import statements
from webapp.schema.dms_user import create_dms_user

REGION = "eu-west-1"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": f"dms.{REGION}.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
SETTINGS = json.dumps({"FullLoadSettings": {"TargetTablePrepMode": "TRUNCATE_BEFORE_LOAD"}})


@pytest.fixture(scope="module")
def cloud(local_cloud: Any) -> Any:
    from reslab.localcloud.compat import dms

    dms.install()  # until compat.PATCHES lists it (docs/local-cloud.md, rows 33-37)
    return local_cloud


def _client(cloud: Any, service: str) -> Any:
    return cloud.client(service, REGION)


def _master(cloud: Any, db: dict, region: str = REGION) -> DbTarget:
    secret = cloud.client("secretsmanager", region).get_secret_value(
        SecretId=db["MasterUserSecret"]["SecretArn"]
    )
    value = json.loads(secret["SecretString"])
    # the operator's view: the backing behind the endpoint name (docs/network-model.md)
    backing = dbbacking.target_for(db["DBInstanceIdentifier"])
    assert backing is not None
    return DbTarget(
        "mysql",
        backing.host,
        backing.port,
        value["username"],
        value["password"],
        db["DBName"],
    )


def _wait(predicate: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return result


class Lab:
    """Two MySQL RDS instances on the private binlog server, DMS users, secrets, a role, a VPC."""

    def __init__(self, cloud: Any, admin_url: str) -> None:
        self.cloud, self.prefix = cloud, unique_prefix("dms")
        self.dms = _client(cloud, "dms")
        rds = _client(cloud, "rds")
        self.source_db = create_instance(rds, f"{self.prefix}-src", "mysql", "admin")
        self.target_db = create_instance(rds, f"{self.prefix}-tgt", "mysql", "admin")
        self.source, self.target = _master(cloud, self.source_db), _master(cloud, self.target_db)
        admin = parse_db_url(admin_url)
        for db in (self.source, self.target):
            with connect(db) as conn, conn.cursor() as cur:
                for statement in statements(lab_schema("mysql")):
                    cur.execute(statement)
        # RDS's master user may create users and grant replication; the local backing's may not
        # (docs/dms.md): the server's root runs the same SQL the bootstrap runs.
        self.role_arn = _client(cloud, "iam").create_role(
            RoleName=f"{self.prefix}-secrets", AssumeRolePolicyDocument=json.dumps(TRUST)
        )["Role"]["Arn"]
        self.source_secret = self._user_secret(admin, "source", self.source, self.source_db)
        self.target_secret = self._user_secret(admin, "target", self.target, self.target_db)

    def _user_secret(self, admin: DbTarget, role: str, db: DbTarget, described: dict) -> str:
        user, password = f"dms_{role[0]}_{self.prefix[-6:]}", f"pw-{time.monotonic_ns()}"
        with connect(admin) as conn:
            create_dms_user(conn, role, user, password, db.dbname)  # type: ignore[arg-type]
        value = {
            "username": user,
            "password": password,
            "host": described["Endpoint"]["Address"],
            "port": described["Endpoint"]["Port"],
        }
        return _client(self.cloud, "secretsmanager").create_secret(
            Name=f"{self.prefix}-{role}", SecretString=json.dumps(value)
        )["ARN"]

    def endpoint(self, kind: str, secret: str, **settings: str) -> str:
        extra = {"DatabaseName": self.target.dbname} if kind == "target" else {}
        return self.dms.create_endpoint(
            EndpointIdentifier=f"{self.prefix}-{kind}",
            EndpointType=kind,
            EngineName="mysql",
            MySQLSettings={
                "SecretsManagerSecretId": secret,
                "SecretsManagerAccessRoleArn": self.role_arn,
                **settings,
            },
            **extra,
        )["Endpoint"]["EndpointArn"]

    def instance(self) -> str:
        ec2 = _client(self.cloud, "ec2")
        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(
                VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"{REGION}{z}"
            )["Subnet"]["SubnetId"]
            for i, z in enumerate("ab")
        ]
        with pytest.raises(ClientError, match="ReplicationSubnetGroupDoesNotCoverEnoughAZs"):
            self.dms.create_replication_subnet_group(
                ReplicationSubnetGroupIdentifier=f"{self.prefix}-one",
                ReplicationSubnetGroupDescription="one AZ",
                SubnetIds=subnets[:1],
            )
        group = self.dms.create_replication_subnet_group(
            ReplicationSubnetGroupIdentifier=self.prefix,
            ReplicationSubnetGroupDescription="lab",
            SubnetIds=subnets,
        )["ReplicationSubnetGroup"]
        assert group["VpcId"] == vpc
        assert sorted(s["SubnetIdentifier"] for s in group["Subnets"]) == sorted(subnets)
        return self.dms.create_replication_instance(
            ReplicationInstanceIdentifier=self.prefix,
            ReplicationInstanceClass="dms.t3.micro",
            ReplicationSubnetGroupIdentifier=self.prefix,
            PubliclyAccessible=False,
        )["ReplicationInstance"]["ReplicationInstanceArn"]

    def task(self, source: str, target: str, instance: str, mappings: str | None = None) -> str:
        return self.dms.create_replication_task(
            ReplicationTaskIdentifier=f"{self.prefix}-task",
            SourceEndpointArn=source,
            TargetEndpointArn=target,
            ReplicationInstanceArn=instance,
            MigrationType="full-load-and-cdc",
            TableMappings=mappings or schema_mappings(self.source.dbname, ("hits",)),
            ReplicationTaskSettings=SETTINGS,
        )["ReplicationTask"]["ReplicationTaskArn"]

    def described(self, task: str) -> dict:
        [found] = self.dms.describe_replication_tasks(
            Filters=[{"Name": "replication-task-arn", "Values": [task]}]
        )["ReplicationTasks"]
        return found

    def table(self, task: str) -> dict:
        rows = self.dms.describe_table_statistics(ReplicationTaskArn=task)["TableStatistics"]
        return rows[0] if rows else {}


@pytest.fixture
def lab(cloud: Any, binlog_server: Any) -> Iterator[Lab]:
    with dbbacking.switch_backing(binlog_server.admin_url()):
        yield Lab(cloud, binlog_server.admin_url())


def test_a_task_started_through_the_api_replicates_and_reports(lab):
    instance = lab.instance()
    source = lab.endpoint("source", lab.source_secret)
    target = lab.endpoint("target", lab.target_secret, TargetDbType="specific-database")
    with pytest.raises(ClientError, match="InvalidParameterValueException"):
        lab.task(source, target, instance, mappings='{"rules": []}')
    task = lab.task(source, target, instance)
    assert lab.described(task)["Status"] == "ready"
    assert "ReplicationTaskStats" not in lab.described(task)  # moto's said 100 % of one table

    with connect(lab.source) as conn:
        write_hits(conn, 200)
        started = lab.dms.start_replication_task(
            ReplicationTaskArn=task, StartReplicationTaskType="start-replication"
        )["ReplicationTask"]
        assert started["Status"] in ("starting", "running"), started.get("LastFailureMessage")
        stats = _wait(
            lambda: (
                (s := lab.described(task).get("ReplicationTaskStats"))
                and s["FullLoadProgressPercent"] == 100
                and s
            ),
            "the full load",
        )
        assert (stats["TablesLoaded"], stats["TablesErrored"]) == (1, 0)
        assert lab.table(task)["FullLoadRows"] == 200
        assert lab.table(task)["TableState"] == "Table completed"

        write_hits(conn, 10)
        with conn.cursor() as cur:
            cur.execute("UPDATE hits SET client_ip = '198.51.100.9' WHERE id <= 3")
            cur.execute("DELETE FROM hits WHERE id = 4")
        _wait(lambda: lab.table(task).get("Deletes") == 1, "the changes")
    row = lab.table(task)
    assert (row["Inserts"], row["Updates"], row["Deletes"]) == (10, 3, 1)
    metrics = _client(lab.cloud, "cloudwatch").list_metrics(Namespace="AWS/DMS")["Metrics"]
    assert {"CDCLatencySource", "CDCLatencyTarget"} <= {m["MetricName"] for m in metrics}

    for refused in (
        lambda: lab.dms.delete_replication_task(ReplicationTaskArn=task),
        lambda: lab.dms.delete_endpoint(EndpointArn=source),
        lambda: lab.dms.delete_replication_instance(ReplicationInstanceArn=instance),
    ):
        with pytest.raises(ClientError, match="InvalidResourceStateFault"):
            refused()
    lab.dms.stop_replication_task(ReplicationTaskArn=task)
    described = lab.described(task)
    assert (described["Status"], described["StopReason"]) == ("stopped", "Stop Reason NORMAL")
    report = run_checks(lab.source.url(), lab.target.url())
    assert [c.name for c in report.failures] == []
    # the replication login may not read mysql.user: that check is honestly skipped, not passed
    assert {c.name for c in report.skipped} <= {"security.user_count"}

    lab.dms.delete_replication_task(ReplicationTaskArn=task)
    lab.dms.delete_endpoint(EndpointArn=source)
    lab.dms.delete_endpoint(EndpointArn=target)
    lab.dms.delete_replication_instance(ReplicationInstanceArn=instance)


def test_endpoint_secret_rules_and_a_source_without_binlog(lab, mysql_url):
    with pytest.raises(ClientError, match="InvalidParameterCombinationException"):
        lab.dms.create_endpoint(
            EndpointIdentifier=f"{lab.prefix}-nrole",
            EndpointType="source",
            EngineName="mysql",
            MySQLSettings={"SecretsManagerSecretId": lab.source_secret},
        )
    # the machine's MariaDB has log_bin OFF: the task fails at start, as on AWS
    plain = parse_db_url(mysql_url)
    secret = _client(lab.cloud, "secretsmanager").create_secret(
        Name=f"{lab.prefix}-nobinlog",
        SecretString=json.dumps(
            {"username": plain.user, "password": "", "host": plain.host, "port": plain.port}
        ),
    )["ARN"]
    instance = lab.instance()
    source = lab.endpoint("source", secret)
    target = lab.endpoint("target", lab.target_secret, TargetDbType="specific-database")
    task = lab.task(source, target, instance, schema_mappings(plain.dbname, ("hits",)))
    with pytest.raises(ClientError, match="InvalidResourceStateFault"):  # still creating
        lab.dms.start_replication_task(
            ReplicationTaskArn=task, StartReplicationTaskType="start-replication"
        )
    assert lab.described(task)["Status"] == "ready"
    lab.dms.start_replication_task(
        ReplicationTaskArn=task, StartReplicationTaskType="start-replication"
    )
    failed = _wait(lambda: (d := lab.described(task))["Status"] == "failed" and d, "the failure")
    assert failed["LastFailureMessage"].startswith("SourceNotReady: the MySQL source has log_bin=0")
    lab.dms.delete_replication_task(ReplicationTaskArn=task)
