"""cloudformation/dms.yaml deployed in the local cloud makes a DMS task that replicates a MySQL
instance into the stack's own target database (cfn-lint and checkov judge it with the other
templates of the stack table: tests/templates/test_lint.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import pytest

from reslab import packaging
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


def _network(cloud: Any, name: str) -> dict[str, Any]:
    """The lab VPC of the stack's region (vpc.yaml, as the secondary_vpc stack): private
    subnets in two AZs behind a NAT gateway, the database security group."""
    cfn = _client(cloud, "cloudformation")
    cfn.create_stack(
        StackName=f"{name}Vpc",
        TemplateBody=(TEMPLATE_DIR / "vpc.yaml").read_text(),
        Parameters=[
            {"ParameterKey": "Workshop", "ParameterValue": name},
            {"ParameterKey": "AvailabilityZoneCount", "ParameterValue": "2"},
        ],
        Tags=[{"Key": "workshop", "Value": name}],
    )
    stack = wait_for_stack(cfn, f"{name}Vpc")
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    return {k: outputs[k] for k in ("VpcId", "PrivateSubnetIds", "DatabaseSecurityGroupId")}


def _preparation_code(cloud: Any, name: str) -> dict[str, str]:
    """The dms stack's function code in a bucket of its region, as ``reslab install`` puts it
    (``reslab.installer.stack_code``)."""
    s3 = _client(cloud, "s3")
    bucket = f"{name.lower()}-code"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "workshop", "Value": name}]})
    [(file_name, body)] = packaging.stack_code("dms", local=True).items()
    s3.put_object(Bucket=bucket, Key=f"code/{file_name}", Body=body)
    return {"PreparationCodeBucket": bucket, "PreparationCodeKey": f"code/{file_name}"}


def prepare_target(cloud: Any, outputs: dict[str, str]) -> dict[str, Any]:
    """What the deploy's status handoff does before it starts the task: invoke the stack's
    target preparation function; returns its answer."""
    answer = _client(cloud, "lambda").invoke(
        FunctionName=outputs["TargetPreparationFunctionArn"], Payload=b"{}"
    )
    body = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, body
    return dict(body)


def _target(cloud: Any, outputs: dict[str, str], dbname: str) -> DbTarget:
    """The target's master user on the target's own server (its endpoint name resolves only
    inside the lab VPC)."""
    rds = _client(cloud, "rds")
    [db] = rds.describe_db_instances(DBInstanceIdentifier=outputs["TargetInstanceIdentifier"])[
        "DBInstances"
    ]
    return replace(_master(cloud, db), dbname=dbname)


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
    prepare: bool = True,
) -> Iterator[DmsStack]:
    """Source instance (``rows`` hits, the DMS user from a secret) on the first server, the
    stack ``name`` (in its own lab VPC) and its target on a private server, prepared by the
    stack's own function unless ``prepare`` is false; the stack is left to the caller."""
    from reslab.localcloud.compat import dms
    from reslab.localcloud.compat.cloudformation import dynamic_refs

    dms.install()  # until compat.PATCHES lists them (docs/local-cloud.md, rows 33-38)
    dynamic_refs.install()
    primary, _ = servers
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

        # the target: an RDS MySQL instance, its own server (the master user as RDS gives it)
        with dbbacking.switch_backing(dbbacking.PRIVATE_MYSQL):
            parameters = {
                "Workshop": name,
                **_network(cloud, name),
                **_preparation_code(cloud, name),
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
            if prepare:
                assert prepare_target(cloud, outputs)["database"] == source.dbname
            yield DmsStack(stack, outputs, source, _target(cloud, outputs, source.dbname))


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
