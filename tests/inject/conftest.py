"""A lab-like world on a real moto server: tagged lab resources plus untagged look-alikes.

Built with plain boto3 (not the lab's templates): a VPC with public+private subnets in three AZs,
an Auto Scaling group with instances, a Multi-AZ database (+ a read replica), a website bucket with
an image and an existing policy, and stacks whose outputs point at them (as the real stacks' do).
Look-alikes: an untagged VPC/subnets in the same AZs, an untagged ASG, an untagged DB, an untagged
bucket with a policy, and a bucket of another workshop.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from reslab.chaos.journal import Journal
from reslab.chaos.lab import Lab

REGION = "us-east-2"
WORKSHOP = "lab-test"
AZS = ("us-east-2a", "us-east-2b", "us-east-2c")
IMAGE_KEY = "images/lab.jpg"
WEBSITE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ExistingListForAuditors",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "s3:ListBucket",
                "Resource": "arn:aws:s3:::lab-website",
            }
        ],
    },
    indent=1,  # an unusual layout: "restored exactly" must keep it byte for byte
)
CREDS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass
class World:
    endpoint: str
    lab: Lab
    asg: str = "lab-web-asg"
    lookalike_asg: str = "lookalike-asg"
    db: str = "lab-db"
    replica: str = "lab-db-replica"
    lookalike_db: str = "lookalike-db"
    bucket: str = "lab-website"
    report_bucket: str = "lab-reports"
    lookalike_bucket: str = "lookalike-website"
    other_bucket: str = "other-lab-website"
    subnets: dict[str, list[str]] = field(default_factory=dict)  # az -> lab subnet ids
    lookalike_subnets: dict[str, str] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint, **CREDS)

    def snapshot(self) -> dict[str, Any]:
        """Everything the injections could touch, in a comparable form (no association ids,
        which AWS renews on every ReplaceNetworkAclAssociation)."""
        ec2, asg, rds, s3 = (self.client(s) for s in ("ec2", "autoscaling", "rds", "s3"))
        acls = ec2.describe_network_acls()["NetworkAcls"]
        instances = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
        policies = {}
        for bucket in (self.bucket, self.report_bucket, self.lookalike_bucket, self.other_bucket):
            try:
                policies[bucket] = s3.get_bucket_policy(Bucket=bucket)["Policy"]
            except s3.exceptions.ClientError:
                policies[bucket] = None
        return {
            "acls": {
                a["NetworkAclId"]: {
                    "vpc": a["VpcId"],
                    "entries": sorted(json.dumps(e, sort_keys=True) for e in a["Entries"]),
                    "tags": sorted((t["Key"], t["Value"]) for t in a.get("Tags", [])),
                }
                for a in acls
            },
            "subnet_acl": {
                assoc["SubnetId"]: a["NetworkAclId"]
                for a in acls
                for assoc in a.get("Associations", [])
            },
            "instances": {i["InstanceId"]: i["State"]["Name"] for i in instances},
            "asgs": {
                g["AutoScalingGroupName"]: sorted(i["InstanceId"] for i in g["Instances"])
                for g in asg.describe_auto_scaling_groups()["AutoScalingGroups"]
            },
            "dbs": {
                d["DBInstanceIdentifier"]: (d["DBInstanceStatus"], d.get("MultiAZ"))
                for d in rds.describe_db_instances()["DBInstances"]
            },
            "policies": policies,
        }


def _tags(workshop: str | None, **extra: str) -> list[dict[str, str]]:
    tags = {"workshop": workshop, **extra} if workshop else dict(extra)
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _stack(cfn: Any, name: str, outputs: dict[str, str]) -> None:
    template = {
        "Resources": {"Marker": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {k: {"Value": v} for k, v in outputs.items()},
    }
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(template))


def build_world(endpoint: str) -> World:
    world = World(endpoint, Lab(REGION, WORKSHOP, endpoint_url=endpoint))
    ec2, asg, rds, s3, cfn = (
        world.client(s) for s in ("ec2", "autoscaling", "rds", "s3", "cloudformation")
    )
    # network: the lab VPC (tagged) and a look-alike (untagged) with subnets in the same AZs
    vpc = ec2.create_vpc(
        CidrBlock="10.10.0.0/16",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": _tags(WORKSHOP)}],
    )["Vpc"]["VpcId"]
    other_vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    public, private = [], []
    for n, az in enumerate(AZS):
        ids = []
        for kind, offset, bucket_list in (("public", 0, public), ("private", 10, private)):
            subnet = ec2.create_subnet(
                VpcId=vpc,
                CidrBlock=f"10.10.{n + offset}.0/24",
                AvailabilityZone=az,
                TagSpecifications=[
                    {"ResourceType": "subnet", "Tags": _tags(WORKSHOP, Name=f"lab-{kind}-{az}")}
                ],
            )["Subnet"]["SubnetId"]
            bucket_list.append(subnet)
            ids.append(subnet)
        world.subnets[az] = ids
        world.lookalike_subnets[az] = ec2.create_subnet(
            VpcId=other_vpc, CidrBlock=f"10.20.{n}.0/24", AvailabilityZone=az
        )["Subnet"]["SubnetId"]
    # web tier: the lab ASG (tag propagated to its instances) and an untagged look-alike
    for name, workshop in ((world.asg, WORKSHOP), (world.lookalike_asg, None)):
        ec2.create_launch_template(
            LaunchTemplateName=f"{name}-lt",
            LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"},
        )
        subnets = public if workshop else list(world.lookalike_subnets.values())
        asg.create_auto_scaling_group(
            AutoScalingGroupName=name,
            LaunchTemplate={"LaunchTemplateName": f"{name}-lt"},
            MinSize=3,
            MaxSize=6,
            DesiredCapacity=3,
            VPCZoneIdentifier=",".join(subnets),
            Tags=[
                {"Key": t["Key"], "Value": t["Value"], "PropagateAtLaunch": True}
                for t in _tags(workshop, Name=name)
            ],
        )
    # database: Multi-AZ primary + read replica (tagged), and an untagged look-alike
    for ident, workshop in ((world.db, WORKSHOP), (world.lookalike_db, None)):
        rds.create_db_instance(
            DBInstanceIdentifier=ident,
            Engine="postgres",
            DBInstanceClass="db.t3.micro",
            MasterUsername="labadmin",
            MasterUserPassword="not-a-secret-1",  # moto only
            AllocatedStorage=20,
            MultiAZ=True,
            Tags=_tags(workshop),
        )
    rds.create_db_instance_read_replica(
        DBInstanceIdentifier=world.replica,
        SourceDBInstanceIdentifier=world.db,
        Tags=_tags(WORKSHOP),
    )
    # storage: website bucket (image + existing policy), report bucket, look-alikes
    for bucket, workshop in (
        (world.bucket, WORKSHOP),
        (world.report_bucket, WORKSHOP),
        (world.lookalike_bucket, None),
        (world.other_bucket, "another-lab"),
    ):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        if workshop:
            s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": _tags(workshop)})
        s3.put_object(Bucket=bucket, Key=IMAGE_KEY, Body=b"\xff\xd8 not really a jpeg")
    s3.put_bucket_policy(Bucket=world.bucket, Policy=WEBSITE_POLICY)
    s3.put_bucket_policy(
        Bucket=world.lookalike_bucket,
        Policy=WEBSITE_POLICY.replace("lab-website", world.lookalike_bucket),
    )
    # the stacks' outputs, as the lab's templates publish them
    _stack(
        cfn,
        "ResiliencyVPC",
        {
            "VpcId": vpc,
            "PublicSubnetIds": ",".join(public),
            "PrivateSubnetIds": ",".join(private),
            "AvailabilityZones": ",".join(AZS),
        },
    )
    _stack(cfn, "ResiliencyWeb", {"AutoScalingGroupName": world.asg, "WebsiteURL": "http://x/"})
    _stack(cfn, "ResiliencyDatabase", {"DBInstanceIdentifier": world.db})
    _stack(cfn, "ResiliencyReplica", {"ReplicaInstanceIdentifier": world.replica})
    _stack(
        cfn,
        "ResiliencyStorage",
        {"WebsiteBucketName": world.bucket, "ReportBucketName": world.report_bucket},
    )
    return world


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server of its own, in a child process: the world's ``/moto-api/reset`` empties
    only it. moto's backends are global to a process, so an in-process server's reset would
    also wipe the local cloud that other modules on this xdist worker share."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            assert server.poll() is None, f"moto server exited with {server.returncode}"
            try:
                urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise AssertionError(f"moto server on {url} never answered")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="session")
def _world_cache() -> dict[str, Any]:
    return {}


@pytest.fixture
def world(moto_endpoint: str, _world_cache: dict[str, Any]) -> World:
    """The lab world, rebuilt from scratch only when a previous test left it changed (building
    it takes ~60 API calls; checking it, six)."""
    cached: World | None = _world_cache.get("world")
    if cached is not None and cached.snapshot() == _world_cache["pristine"]:
        return cached
    request = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(request).close()
    built = build_world(moto_endpoint)
    _world_cache.update(world=built, pristine=built.snapshot())
    return built


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal")
