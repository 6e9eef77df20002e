"""``reslab deploy --local`` in a region with two Availability Zones (us-west-1, as on AWS for
most accounts): the VPC spans two AZs, the database and the web tier deploy on it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reslab.localcloud.state import write_state
from tests.deploy.test_cli import run, write_event

REGION, SECONDARY = "us-west-1", "us-east-2"


@pytest.fixture
def workdir(tmp_path: Path, cloud: Any) -> Path:
    write_state(cloud.endpoint_url, tmp_path)
    return tmp_path


def test_deploy_and_destroy_in_a_two_az_region(workdir: Path, cloud: Any) -> None:
    path = write_event(workdir, "twoaz", region_name=REGION, secondary_region_name=SECONDARY)
    result = run(["deploy", "--local", "--event", str(path), "--json", "--name", "twoaz"], workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "SUCCEEDED"
    stacks = outcome["output"]["stacks"]
    assert {k: e["status"] for k, e in stacks.items()} == {
        "vpc": "CREATE_COMPLETE",
        "storage": "CREATE_COMPLETE",
        "database": "CREATE_COMPLETE",
        "replica": "CREATE_COMPLETE",
        "web": "CREATE_COMPLETE",
        "secondary_vpc": "SKIPPED",  # the DMS mode's (event dms: true)
        "dms": "SKIPPED",
    }
    created = {k: e for k, e in stacks.items() if e["status"] != "SKIPPED"}
    assert {k: e["region"] for k, e in created.items()} == {
        "vpc": REGION,
        "storage": REGION,
        "database": REGION,
        "replica": SECONDARY,
        "web": REGION,
    }

    cfn = cloud.client("cloudformation", REGION)
    (vpc,) = cfn.describe_stacks(StackName="TwoazVPC")["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in vpc["Outputs"]}
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in vpc["Parameters"]}
    assert parameters["AvailabilityZoneCount"] == "2"
    assert outputs["AvailabilityZones"] == "us-west-1a,us-west-1b"
    ec2 = cloud.client("ec2", REGION)
    for tier in ("PublicSubnetIds", "PrivateSubnetIds"):
        ids = outputs[tier].split(",")
        zones = {s["AvailabilityZone"] for s in ec2.describe_subnets(SubnetIds=ids)["Subnets"]}
        assert (len(ids), zones) == (2, {"us-west-1a", "us-west-1b"}), tier

    destroyed = run(["destroy", "--local", "--event", str(path), "--name", "twoaz"], workdir)
    assert destroyed.returncode == 0, destroyed.stderr[-3000:]
    for region in (REGION, SECONDARY):
        left = cloud.client("cloudformation", region).describe_stacks()["Stacks"]
        assert not [s for s in left if s["StackName"].startswith("Twoaz")], region
