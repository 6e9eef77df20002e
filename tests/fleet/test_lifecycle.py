"""A participant's lab by the book, then its leftovers swept.

1. Exactly what docs/install-aws.md tells a participant, with the AWS CLI (``.venv/bin/aws``,
   an independent client) against the local cloud: make + tag the buckets, ``aws s3 cp`` the
   templates and the bootstrap, ``reslab package``, ``aws s3 sync`` of the build,
   ``aws cloudformation deploy`` of the installer template, its DeployMachineArn output,
   ``aws stepfunctions start-execution --input file://event.json``, ``describe-execution``
   until SUCCEEDED, ``describe-stacks`` shows every lab stack complete.
2. ``reslab reset`` of that lab: torn down and deployed again (new stacks).
3. An AZ-failure injection left in force (reslab.chaos, as if the session crashed), a temporary
   restored RDS instance + snapshot tagged like the backup check's, an ENI; the teardown; then
   ``reslab sweep --delete``: nothing tagged with the workshop remains in any service.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reslab import REPO_ROOT, execution
from reslab.chaos.faults import FAULTS, Options
from reslab.chaos.lab import Lab
from reslab.chaos.plan import run_calls
from reslab.cli.app import app
from reslab.localcloud.state import write_state

AWS = str(Path(sys.executable).with_name("aws"))
REGIONS = ("us-east-2", "us-west-2")
TEMP = {"Key": "reslab:temporary", "Value": "true"}


class Participant:
    def __init__(self, cloud: Any, workdir: Path) -> None:
        self.cloud, self.workdir = cloud, workdir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update(
            AWS_ENDPOINT_URL=cloud.endpoint_url,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-2",
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        )

    def aws(self, *args: str) -> str:
        done = subprocess.run(
            [AWS, *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"aws {' '.join(args)}: {done.stderr}"
        return done.stdout

    def aws_json(self, *args: str) -> Any:
        return json.loads(self.aws(*args, "--output", "json"))


@pytest.fixture(scope="module")
def participant(cloud: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    workdir = tmp_path_factory.mktemp("participant")
    write_state(cloud.endpoint_url, workdir)  # `reslab install --local` finds this cloud
    p = Participant(cloud, workdir)
    name, workshop = f"sw{tag}", f"sweep {tag}"
    event = {  # docs/install-aws.md, "The event"
        "log_level": "INFO",
        "region_name": "us-east-2",
        "secondary_region_name": "us-west-2",
        "workshop": workshop,
        "cfn_region": "us-east-2",
        "cfn_bucket": f"{name}-cfn",
        "folder": "cloudformation/",
        "boot_bucket": f"{name}-boot",
        "boot_prefix": "bootstrap/",
        "boot_object": "bootstrap.sh",
        "websiteimage": "",
        "stack_prefix": f"Sw{tag}",
        "poll_seconds": 1,
    }
    (workdir / "event.json").write_text(json.dumps(event, indent=2))
    tagging = f"TagSet=[{{Key=workshop,Value={workshop}}}]"
    for bucket in (event["cfn_bucket"], event["boot_bucket"]):
        p.aws("s3", "mb", f"s3://{bucket}", "--region", "us-east-2")
        p.aws("s3api", "put-bucket-tagging", "--bucket", bucket, "--tagging", tagging)
    p.aws(
        "s3",
        "cp",
        str(REPO_ROOT / "cloudformation"),
        f"s3://{name}-cfn/cloudformation/",
        "--recursive",
        "--exclude",
        "*",
        "--include",
        "*.yaml",
    )
    p.aws(
        "s3",
        "cp",
        str(REPO_ROOT / "bootstrap/bootstrap.sh"),
        f"s3://{name}-boot/bootstrap/bootstrap.sh",
    )
    # docs/install-aws.md, "Install": package, upload, `aws cloudformation deploy` the installer
    # (the local cloud's zip flavour: its Lambdas run on this venv, not the Lambda runtime).
    packaged = subprocess.run(
        [sys.executable, "-m", "reslab", "package", "--local", "--out", "dist"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert packaged.returncode == 0, packaged.stderr
    version = (workdir / "dist" / "VERSION").read_text().strip()
    # the web-app bundle where bootstrap.sh reads it (<boot_prefix>webapp.tar.gz)
    p.aws("s3", "cp", "dist/webapp.tar.gz", f"s3://{name}-boot/bootstrap/webapp.tar.gz")
    prefix = f"reslab/{version}/"
    p.aws("s3", "sync", "dist", f"s3://{name}-boot/{prefix}")
    p.aws(
        "cloudformation",
        "deploy",
        "--template-file",
        "dist/installer.yaml",
        "--stack-name",
        name,
        "--s3-bucket",
        f"{name}-boot",
        "--s3-prefix",
        prefix.rstrip("/"),
        "--capabilities",
        "CAPABILITY_IAM",
        "--parameter-overrides",
        f"ArtifactBucket={name}-boot",
        f"ArtifactPrefix={prefix}",
        f"Workshop={workshop}",
        f"StackPrefix={event['stack_prefix']}",
        f"LabBucketPrefix={event['stack_prefix'].lower()}",
        f"TemplateBucket={name}-cfn",
        f"BootBucket={name}-boot",
        "--tags",
        f"workshop={workshop}",
    )
    machine = p.aws(
        "cloudformation",
        "describe-stacks",
        "--stack-name",
        name,
        "--query",
        "Stacks[0].Outputs[?OutputKey=='DeployMachineArn'].OutputValue",
        "--output",
        "text",
    ).strip()
    started = p.aws_json(
        "stepfunctions",
        "start-execution",
        "--state-machine-arn",
        machine,
        "--input",
        "file://event.json",
    )
    arn, status, deadline = started["executionArn"], "RUNNING", time.monotonic() + 150
    while status == "RUNNING" and time.monotonic() < deadline:
        time.sleep(2)
        status = p.aws(
            "stepfunctions",
            "describe-execution",
            "--execution-arn",
            arn,
            "--query",
            "status",
            "--output",
            "text",
        ).strip()
    stacks = {
        s["StackName"]: s["StackStatus"]
        for region in REGIONS
        for s in p.aws_json("cloudformation", "describe-stacks", "--region", region)["Stacks"]
        if s["StackName"].startswith(event["stack_prefix"])
    }
    return {"p": p, "event": event, "name": name, "status": status, "stacks": stacks, "arn": arn}


def test_participant_deploys_with_the_aws_cli(participant: dict[str, Any]) -> None:
    assert participant["status"] == "SUCCEEDED"
    prefix = participant["event"]["stack_prefix"]
    expected = {f"{prefix}{s}" for s in ("VPC", "Storage", "Database", "Replica", "Web")}
    assert participant["stacks"] == dict.fromkeys(expected, "CREATE_COMPLETE")


def test_reset_tears_down_and_redeploys_the_same_lab(
    participant: dict[str, Any], cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    event, p = participant["event"], participant["p"]
    cfn = cloud.client("cloudformation", "us-east-2")
    before = cfn.describe_stacks(StackName=f"{event['stack_prefix']}VPC")["Stacks"][0]["StackId"]
    monkeypatch.chdir(p.workdir)
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    args = ["reset", "--local", "--event", "event.json", "--name", participant["name"]]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (result.output, result.exception)
    after = cfn.describe_stacks(StackName=f"{event['stack_prefix']}VPC")["Stacks"][0]
    assert after["StackStatus"] == "CREATE_COMPLETE"
    assert after["StackId"] != before  # a new stack, not the old one kept
    assert "website:  http://127.0.0.1:" in result.output


def _leftovers(cloud: Any, event: dict[str, Any]) -> None:
    """What a crashed session leaves: an injection in force, a restore check's temporaries."""
    lab = Lab("us-east-2", event["workshop"], event["stack_prefix"], cloud.endpoint_url)
    plan = FAULTS["az"].plan(lab, Options(seed=7), "az-sweeptest")
    run_calls(lab, plan.calls, {})
    rds, ec2 = cloud.client("rds", "us-east-2"), cloud.client("ec2", "us-east-2")
    source = lab.output("Database", "DBInstanceIdentifier")
    tags = [{"Key": "workshop", "Value": event["workshop"]}]
    snap = f"{source}-check"
    rds.create_db_snapshot(DBInstanceIdentifier=source, DBSnapshotIdentifier=snap, Tags=tags)
    rds.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier=f"{source}-restored", DBSnapshotIdentifier=snap, Tags=[*tags, TEMP]
    )
    subnet = lab.output("VPC", "PrivateSubnetIds").split(",")[0]
    ec2.create_network_interface(
        SubnetId=subnet, TagSpecifications=[{"ResourceType": "network-interface", "Tags": tags}]
    )


def _tagged_everywhere(cloud: Any, workshop: str, name: str) -> dict[str, list[str]]:
    """Every resource still tagged workshop=<W>, asked service by service (not through sweep)."""

    def tagged(tags: list[dict[str, str]] | None) -> bool:
        return {"Key": "workshop", "Value": workshop} in (tags or [])

    left: dict[str, list[str]] = {}
    for region in REGIONS:
        c = lambda service: cloud.client(service, region)  # noqa: E731
        f = [{"Name": "tag:workshop", "Values": [workshop]}]
        left[f"stacks {region}"] = [
            s["StackName"]
            for s in c("cloudformation").describe_stacks()["Stacks"]
            if tagged(s.get("Tags"))
        ]
        left[f"db {region}"] = [
            d["DBInstanceIdentifier"]
            for d in c("rds").describe_db_instances()["DBInstances"]
            if tagged(d.get("TagList"))
        ]
        left[f"snapshots {region}"] = [
            s["DBSnapshotIdentifier"]
            for s in c("rds").describe_db_snapshots()["DBSnapshots"]
            if tagged(s.get("TagList"))
        ]
        left[f"acls {region}"] = [
            a["NetworkAclId"] for a in c("ec2").describe_network_acls(Filters=f)["NetworkAcls"]
        ]
        left[f"enis {region}"] = [
            e["NetworkInterfaceId"]
            for e in c("ec2").describe_network_interfaces(Filters=f)["NetworkInterfaces"]
        ]
        lam = c("lambda")
        left[f"lambdas {region}"] = [
            fn["FunctionName"]
            for fn in lam.list_functions()["Functions"]
            if lam.list_tags(Resource=fn["FunctionArn"])["Tags"].get("workshop") == workshop
        ]
        groups = c("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}-")
        left[f"lambda logs {region}"] = [g["logGroupName"] for g in groups["logGroups"]]
        scheduler = c("scheduler")
        left[f"schedules {region}"] = [
            f"{g['Name']}/{sch['Name']}"
            for g in scheduler.list_schedule_groups()["ScheduleGroups"]
            if tagged(scheduler.list_tags_for_resource(ResourceArn=g["Arn"])["Tags"])
            for sch in scheduler.list_schedules(GroupName=g["Name"])["Schedules"]
        ]
        sfn = c("stepfunctions")
        left[f"machines {region}"] = [
            m["name"]
            for m in sfn.list_state_machines()["stateMachines"]
            if {"key": "workshop", "value": workshop}
            in sfn.list_tags_for_resource(resourceArn=m["stateMachineArn"])["tags"]
        ]
    s3, iam = cloud.client("s3", "us-east-2"), cloud.client("iam", "us-east-2")
    buckets = []
    for b in s3.list_buckets()["Buckets"]:
        try:
            if tagged(s3.get_bucket_tagging(Bucket=b["Name"])["TagSet"]):
                buckets.append(b["Name"])
        except s3.exceptions.ClientError:
            pass
    left["buckets"] = buckets
    left["roles"] = [
        r["RoleName"]
        for r in iam.list_roles()["Roles"]
        if tagged(iam.list_role_tags(RoleName=r["RoleName"])["Tags"])
    ]
    return {k: v for k, v in left.items() if v}


def test_sweep_after_teardown_leaves_nothing_tagged(
    participant: dict[str, Any], cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    event, p = participant["event"], participant["p"]
    _leftovers(cloud, event)
    sfn = cloud.client("stepfunctions", "us-east-2")
    teardown = participant["arn"].replace(":execution:", ":stateMachine:").rsplit(":", 1)[0]
    teardown = teardown.replace(f"{participant['name']}-deploy", f"{participant['name']}-teardown")
    outcome = execution.wait(sfn, execution.start(sfn, teardown, event, "teardown"))
    # the injected ACL may keep the VPC stack from going (DELETE_FAILED): sweep must cope
    assert outcome.status in ("SUCCEEDED", "FAILED"), outcome

    monkeypatch.chdir(p.workdir)
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    runner = CliRunner()
    dry = runner.invoke(app, ["sweep", "--workshop", event["workshop"], "--local", "--json"])
    assert dry.exit_code == 0, dry.output
    kinds = {f["kind"] for f in json.loads(dry.stdout[: dry.stdout.rindex("]") + 1])}
    assert {
        "network-acl",
        "rds-instance",
        "rds-snapshot",
        "network-interface",
        "s3-bucket",
        "lambda",
        "state-machine",
        "schedule-group",
        "iam-role",
    } <= kinds, kinds
    assert _tagged_everywhere(
        cloud, event["workshop"], participant["name"]
    )  # a dry run deletes nothing

    swept = runner.invoke(app, ["sweep", "--workshop", event["workshop"], "--local", "--delete"])
    assert swept.exit_code == 0, (swept.output, swept.exception)
    assert _tagged_everywhere(cloud, event["workshop"], participant["name"]) == {}
