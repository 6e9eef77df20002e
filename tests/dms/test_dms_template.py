"""cloudformation/dms.yaml deployed in the local cloud makes a DMS task that replicates a MySQL
instance into the stack's own target database (cfn-lint and checkov judge it with the other
templates of the stack table: tests/templates/test_lint.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from reslab.checks import run_checks
from reslab.dburl import DbTarget, connect, parse_db_url
from reslab.localcloud import dbbacking
from reslab.localcloud.binlog_server import BinlogServer
from reslab.localcloud.testing import unique_prefix, wait_for_stack
from reslab.templates import TEMPLATE_DIR, load_template
from tests.dms.conftest import lab_schema
from tests.dms.test_dms_api import REGION, _client, _master, _wait
from tests.dms.writer import write_hits
from tests.localcloud.instances import create_instance
from webapp.schema import statements
from webapp.schema.dms_target import prepare_dms_target
from webapp.schema.dms_user import create_dms_user

TEMPLATE = "dms.yaml"


def test_no_password_and_the_task_reads_the_replica():
    template = load_template(TEMPLATE)
    copied = template["Resources"]["SourceEndpointSecret"]["Properties"]["SecretString"]
    # the DMS user's password is a dynamic reference CloudFormation resolves, never a value
    assert (
        '"password": "{{resolve:secretsmanager:${Arn}:SecretString:password}}"'
        in copied["Fn::Sub"][0]
    )
    endpoints = [r for r in template["Resources"].values() if r["Type"] == "AWS::DMS::Endpoint"]
    for endpoint in endpoints:
        settings = endpoint["Properties"]["MySqlSettings"]
        assert {"SecretsManagerSecretId", "SecretsManagerAccessRoleArn"} <= set(settings)
        assert not {"Username", "Password", "ServerName"} & set(endpoint["Properties"])
    task = template["Resources"]["ReplicationTask"]["Properties"]
    assert task["MigrationType"] == "full-load-and-cdc"


@pytest.fixture
def servers(tmp_path) -> Iterator[tuple[BinlogServer, BinlogServer]]:
    """The primary region's server and the secondary region's, as two RDS backings."""
    with BinlogServer(tmp_path / "a") as source, BinlogServer(tmp_path / "b") as target:
        yield source, target


def _network(cloud: Any) -> dict[str, Any]:
    ec2 = _client(cloud, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.8.{i}.0/24", AvailabilityZone=f"{REGION}{z}")
        for i, z in enumerate("ab")
    ]
    group = ec2.create_security_group(GroupName=unique_prefix("db"), Description="db", VpcId=vpc)
    return {
        "VpcId": vpc,
        "PrivateSubnetIds": ",".join(s["Subnet"]["SubnetId"] for s in subnets),
        "DatabaseSecurityGroupId": group["GroupId"],
    }


@dataclass
class DmsStack:
    """A dms stack deployed from dms.yaml over a MySQL instance standing for the read replica."""

    stack: dict[str, Any]
    outputs: dict[str, str]
    source: DbTarget
    target: DbTarget


@contextmanager
def dms_stack(
    cloud: Any,
    servers: tuple[BinlogServer, BinlogServer],
    name: str,
    rows: int,
    prepare_target: bool = True,
) -> Iterator[DmsStack]:
    """Source instance (``rows`` hits, the DMS user from a secret) on the first server, the
    stack ``name`` and its target on the second, prepared unless ``prepare_target`` is false
    (no lab schema, no ``dms_target`` user); the stack is left to the caller."""
    from reslab.localcloud.compat import dms
    from reslab.localcloud.compat.cloudformation import dynamic_refs

    dms.install()  # until compat.PATCHES lists them (docs/local-cloud.md, rows 33-38)
    dynamic_refs.install()
    primary, secondary = servers
    sm, cfn = _client(cloud, "secretsmanager"), _client(cloud, "cloudformation")
    with dbbacking.switch_backing(primary.admin_url()):
        # stands for the read replica: an RDS MySQL instance with a binary log
        described = create_instance(_client(cloud, "rds"), f"{name.lower()}-src", "mysql", "admin")
        source = _master(cloud, described)
        with connect(source) as conn, conn.cursor() as cur:
            for statement in statements(lab_schema("mysql")):
                cur.execute(statement)
        # the bootstrap's step: the DMS source user from the database stack's secret
        source_secret = {"username": "dms_source", "password": "s3cret-" + name}
        with connect(parse_db_url(primary.admin_url())) as conn:
            create_dms_user(conn, "source", "dms_source", source_secret["password"], source.dbname)
        secret_arn = sm.create_secret(Name=f"{name}-dms", SecretString=json.dumps(source_secret))[
            "ARN"
        ]
        with connect(source) as conn:
            write_hits(conn, rows)

        with dbbacking.switch_backing(secondary.admin_url()):
            parameters = {
                "Workshop": name,
                **_network(cloud),
                "ReplicaEndpointAddress": described["Endpoint"]["Address"],
                "SourcePort": str(described["Endpoint"]["Port"]),
                "DmsSourceSecretArn": secret_arn,
                # shared-server backings name a database after its instance; on AWS both
                # sides are "resiliency" (docs/dms.md, local differences)
                "DatabaseName": source.dbname,
            }
            cfn.create_stack(
                StackName=name,
                TemplateBody=(TEMPLATE_DIR / TEMPLATE).read_text(),
                Parameters=[
                    {"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()
                ],
                Capabilities=["CAPABILITY_IAM"],
                Tags=[{"Key": "workshop", "Value": name}],  # as the deploy tags every stack
            )
            stack = wait_for_stack(cfn, name)
            assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
            outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
            target = (
                _prepare_target(cloud, secondary, outputs, source.dbname)
                if prepare_target
                else parse_db_url(secondary.admin_url(source.dbname))
            )
            yield DmsStack(stack, outputs, source, target)


def hits_statistics(dms: Any, task: str) -> dict[str, Any]:
    """The task's TableStatistics row of ``hits`` (empty before the task saw the table)."""
    rows = dms.describe_table_statistics(ReplicationTaskArn=task)["TableStatistics"]
    return next((r for r in rows if r["TableName"] == "hits"), {})


def test_the_stack_replicates_the_replica_into_its_target(local_cloud, servers):
    with dms_stack(local_cloud, servers, unique_prefix("dmscf"), 150) as lab:
        outputs, source, target = lab.outputs, lab.source, lab.target
        cfn = _client(local_cloud, "cloudformation")
        dms_client = _client(local_cloud, "dms")
        task = outputs["ReplicationTaskArn"]
        [described_task] = dms_client.describe_replication_tasks(
            Filters=[{"Name": "replication-task-arn", "Values": [task]}]
        )["ReplicationTasks"]
        assert described_task["Status"] == "ready"
        dms_client.start_replication_task(
            ReplicationTaskArn=task, StartReplicationTaskType="start-replication"
        )

        def table() -> dict:
            return hits_statistics(dms_client, task)

        _wait(lambda: table().get("TableState") == "Table completed", "the full load")
        assert table()["FullLoadRows"] == 150
        with connect(source) as conn:
            write_hits(conn, 20)
        _wait(lambda: table().get("Inserts") == 20, "the changes")
        dms_client.stop_replication_task(ReplicationTaskArn=task)
        report = run_checks(source.url(), target.url())
        assert [c.name for c in report.checks if c.status != "pass"] == []

        cfn.delete_stack(StackName=lab.stack["StackName"])
        assert wait_for_stack(cfn, lab.stack["StackId"])["StackStatus"] == "DELETE_COMPLETE"


def _prepare_target(cloud: Any, server: BinlogServer, outputs: dict, dbname: str) -> DbTarget:
    """The target preparation step (``webapp.schema.dms_target``): the lab's schema and the DMS
    target user from its secret, as the target's admin (here the server's root: a shared-server
    backing gives the instance's master user its own database only)."""
    sm = _client(cloud, "secretsmanager")
    secret = json.loads(
        sm.get_secret_value(SecretId=outputs["TargetUserSecretArn"])["SecretString"]
    )
    assert {"username", "password", "host", "port"} <= set(secret)
    admin = parse_db_url(server.admin_url())
    prepare_dms_target(admin, dbname, secret, connect)
    return admin.with_dbname(dbname)
