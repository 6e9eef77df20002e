"""Test scaffolding: the restore machine installed in the local cloud as users install it (the
installer stack), a seeded source instance, a report bucket, a recording Slack server, and helpers
to run executions to completion."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from reslab.dburl import DbTarget, connect
from reslab.event import local_event, validate_event
from reslab.installer.install import Installation, install
from reslab.restore.steps import TEST_HOOK_ENV

REGION = "us-east-2"


# -- Slack ------------------------------------------------------------------------------------
@dataclass
class SlackServer:
    """A real HTTP server on 127.0.0.1:0 that records posts; ``status`` is what it answers."""

    status: int = 200
    posts: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    @contextmanager
    def running(self) -> Iterator[SlackServer]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.posts.append(json.loads(body or b"{}"))
                self.send_response(outer.status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if outer.status == 200 else b"error")

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/XXXX"
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()


# -- the installed machine --------------------------------------------------------------------
@dataclass
class RestoreLab:
    cloud: Any
    prefix: str
    machine_arn: str = ""
    bucket: str = ""
    subnet_group: str = ""
    security_group: str = ""
    check_group: str = ""
    installation: Installation | None = None

    def client(self, service: str) -> Any:
        return self.cloud.client(service, REGION)

    @property
    def stack_prefix(self) -> str:
        """The lab stack prefix the install manages (its schedule's input names it)."""
        return self.prefix.capitalize()

    def install(self) -> RestoreLab:
        """The installer stack ``<prefix>``, then the test hooks switched on in the checks
        Lambda (a test-only setting: ``test_hook_sql`` corrupts the restored copy)."""
        event = local_event(
            self.prefix, {"workshop": "restore-tests", "stack_prefix": self.stack_prefix}
        )
        self.installation = install(self.cloud.client, self.prefix, validate_event(event))
        self.machine_arn = self.installation.machines["restore"]
        lam = self.client("lambda")
        checks = f"{self.prefix}-backup_checks"
        env = lam.get_function_configuration(FunctionName=checks)["Environment"]["Variables"]
        lam.update_function_configuration(
            FunctionName=checks, Environment={"Variables": {**env, TEST_HOOK_ENV: "1"}}
        )
        self.bucket = f"{self.prefix}-reports"
        s3 = self.client("s3")
        s3.create_bucket(
            Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        s3.put_bucket_versioning(Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"})
        ec2 = self.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(
                VpcId=vpc, CidrBlock=f"10.42.{i}.0/24", AvailabilityZone=f"{REGION}{az}"
            )["Subnet"]["SubnetId"]
            for i, az in ((1, "a"), (2, "b"))
        ]
        self.security_group = ec2.create_security_group(
            GroupName=f"{self.prefix}-db", Description="db", VpcId=vpc
        )["GroupId"]
        self.subnet_group = f"{self.prefix}-private"
        self.client("rds").create_db_subnet_group(
            DBSubnetGroupName=self.subnet_group,
            DBSubnetGroupDescription="private",
            SubnetIds=subnets,
        )
        self.attach_checks(vpc, subnets)
        return self

    def attach_checks(self, vpc: str, subnets: list[str]) -> None:
        """What the lab's VPC stack and the deploy's handoff do (docs/network-model.md): the
        database-connecting Lambdas in the private subnets with a group the database's group
        admits, the AWS APIs through a NAT gateway."""
        ec2 = self.client("ec2")
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        public = ec2.create_subnet(
            VpcId=vpc, CidrBlock="10.42.0.0/24", AvailabilityZone=f"{REGION}a"
        )["Subnet"]["SubnetId"]
        public_table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=public_table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
        ec2.associate_route_table(RouteTableId=public_table, SubnetId=public)
        eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
        nat = ec2.create_nat_gateway(SubnetId=public, AllocationId=eip)["NatGateway"]
        private_table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.create_route(
            RouteTableId=private_table,
            DestinationCidrBlock="0.0.0.0/0",
            NatGatewayId=nat["NatGatewayId"],
        )
        for subnet in subnets:
            ec2.associate_route_table(RouteTableId=private_table, SubnetId=subnet)
        self.check_group = ec2.create_security_group(
            GroupName=f"{self.prefix}-checks", Description="checks", VpcId=vpc
        )["GroupId"]
        self.allow_checks(self.check_group)
        for folder in ("backup_snapshot", "backup_checks"):
            self.client("lambda").update_function_configuration(
                FunctionName=f"{self.prefix}-{folder}",
                VpcConfig={"SubnetIds": subnets, "SecurityGroupIds": [self.check_group]},
            )

    def allow_checks(self, group: str, allowed: bool = True) -> None:
        """The database's group admits (or no longer admits) the check Lambdas' group."""
        permissions = [
            {
                "IpProtocol": "tcp",
                "FromPort": port,
                "ToPort": port,
                "UserIdGroupPairs": [{"GroupId": group}],
            }
            for port in (5432, 3306)
        ]
        ec2 = self.client("ec2")
        if allowed:
            ec2.authorize_security_group_ingress(
                GroupId=self.security_group, IpPermissions=permissions
            )
        else:
            ec2.revoke_security_group_ingress(
                GroupId=self.security_group, IpPermissions=permissions
            )

    def resource(self, logical_id: str) -> str:
        """The physical id of one of the installer stack's resources (a role name...)."""
        found = self.client("cloudformation").describe_stack_resource(
            StackName=self.prefix, LogicalResourceId=logical_id
        )
        return str(found["StackResourceDetail"]["PhysicalResourceId"])

    # -- source instances ------------------------------------------------------------------
    def create_source(self, name: str, engine: str = "postgres") -> str:
        instance_id = f"{self.prefix}-{name}"
        self.client("rds").create_db_instance(
            DBInstanceIdentifier=instance_id,
            Engine=engine,
            DBInstanceClass="db.t3.micro",
            AllocatedStorage=20,
            MasterUsername="labadmin",
            ManageMasterUserPassword=True,
            DBName="labdb",
            DBSubnetGroupName=self.subnet_group,
            VpcSecurityGroupIds=[self.security_group],
            PubliclyAccessible=False,
            Tags=[{"Key": "workshop", "Value": "restore-tests"}],
        )
        return instance_id

    def target(self, instance_id: str) -> DbTarget:
        from reslab.localcloud import dbbacking

        target = dbbacking.target_for(instance_id)
        assert target is not None, f"{instance_id} has no backing database"
        return target

    def sql(self, instance_id: str, *statements: str) -> list[Any]:
        """Run statements on an instance's backing DB; returns the last one's rows."""
        target = self.target(instance_id)
        rows: list[Any] = []
        conn = connect(target)
        try:
            cur = conn.cursor()
            for statement in statements:
                cur.execute(statement)
                rows = list(cur.fetchall()) if cur.description else []
        finally:
            conn.close()
        return rows

    def seed(self, instance_id: str, customers: int = 40) -> None:
        mysql = self.target(instance_id).engine == "mysql"
        serial = "INT AUTO_INCREMENT PRIMARY KEY" if mysql else "SERIAL PRIMARY KEY"
        self.sql(
            instance_id,
            f"CREATE TABLE customers (id {serial}, name VARCHAR(80) NOT NULL, "
            "email VARCHAR(120) NOT NULL)",
            "CREATE UNIQUE INDEX customers_email ON customers (email)",
            f"CREATE TABLE orders (id {serial}, customer_id INT NOT NULL REFERENCES "
            "customers (id), total DECIMAL(10,2) NOT NULL)",
            "CREATE INDEX orders_customer ON orders (customer_id)",
            "INSERT INTO customers (name, email) VALUES "
            + ", ".join(f"('c{i}', 'c{i}@example.com')" for i in range(customers)),
            "INSERT INTO orders (customer_id, total) VALUES "
            + ", ".join(f"({1 + i % customers}, {i}.50)" for i in range(customers * 2)),
        )

    def snapshot(self, instance_id: str, name: str) -> str:
        snap_id = f"{instance_id}-{name}"
        self.client("rds").create_db_snapshot(
            DBInstanceIdentifier=instance_id, DBSnapshotIdentifier=snap_id
        )
        return snap_id

    # -- executions ------------------------------------------------------------------------
    def event(self, instance_id: str, **extra: Any) -> dict[str, Any]:
        return {
            "instance": instance_id,
            "report_bucket": self.bucket,
            "region_name": REGION,
            "workshop": "restore-tests",
            "poll_seconds": 0,
            "poll_max_seconds": 2,
            "deadline_seconds": 60,
            **extra,
        }

    def run(
        self, event: dict[str, Any], timeout: float = 120, machine_arn: str | None = None
    ) -> Execution:
        sfn = self.client("stepfunctions")
        arn = sfn.start_execution(
            stateMachineArn=machine_arn or self.machine_arn,
            name=f"t-{uuid.uuid4().hex[:12]}",
            input=json.dumps(event),
        )["executionArn"]
        end = time.monotonic() + timeout
        while True:
            desc = sfn.describe_execution(executionArn=arn)
            if desc["status"] != "RUNNING":
                break
            assert time.monotonic() < end, f"execution {arn} still running after {timeout}s"
            time.sleep(0.25)
        history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        return Execution(desc, history)

    def temporary_instances(self) -> list[str]:
        rds = self.client("rds")
        found = []
        for db in rds.describe_db_instances()["DBInstances"]:
            tags = {t["Key"]: t["Value"] for t in db.get("TagList", [])}
            if tags.get("reslab:temporary") == "true" and db["DBInstanceStatus"] != "deleting":
                found.append(db["DBInstanceIdentifier"])
        return found

    def report(self, uri: str) -> dict[str, Any]:
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        body = self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        return json.loads(body)


@dataclass
class Execution:
    desc: dict[str, Any]
    history: list[dict[str, Any]]

    @property
    def status(self) -> str:
        return str(self.desc["status"])

    @property
    def error(self) -> str | None:
        return self.desc.get("error")

    @property
    def cause(self) -> str:
        return str(self.desc.get("cause") or "")

    @property
    def output(self) -> dict[str, Any]:
        return json.loads(self.desc.get("output") or "{}")

    def entered(self) -> list[str]:
        return [
            e["stateEnteredEventDetails"]["name"]
            for e in self.history
            if "stateEnteredEventDetails" in e
        ]


#: The backup check's Lambdas that connect to the database (the lab attaches them to its VPC).
CHECK_FUNCTIONS = ("backup_snapshot", "backup_checks")


def network_notes(lab: RestoreLab, since: int = 0) -> str:
    """What the local cloud wrote to the check Lambdas' logs about refused connections (from
    ``since``, milliseconds since the epoch)."""
    logs = lab.client("logs")
    found = []
    for folder in CHECK_FUNCTIONS:
        pages = logs.get_paginator("filter_log_events").paginate(
            logGroupName=f"/aws/lambda/{lab.prefix}-{folder}",
            filterPattern="local cloud network",
            startTime=since,
        )
        found += [e["message"] for page in pages for e in page["events"]]
    return "\n".join(found)


@contextmanager
def outside_the_vpc(lab: RestoreLab) -> Iterator[None]:
    """The check Lambdas detached from the lab VPC, attached again on the way out."""
    lam = lab.client("lambda")
    saved = {}
    for folder in CHECK_FUNCTIONS:
        name = f"{lab.prefix}-{folder}"
        config = lam.get_function_configuration(FunctionName=name)["VpcConfig"]
        saved[name] = {k: config[k] for k in ("SubnetIds", "SecurityGroupIds")}
        lam.update_function_configuration(
            FunctionName=name, VpcConfig={"SubnetIds": [], "SecurityGroupIds": []}
        )
    try:
        yield
    finally:
        for name, config in saved.items():
            lam.update_function_configuration(FunctionName=name, VpcConfig=config)
