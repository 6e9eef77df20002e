"""The lab's real templates in the local cloud: real database, real web tier, clean delete."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import replace

import pytest

from reslab.dburl import connect
from reslab.localcloud.network.service import backing_target
from reslab.localcloud.testing import unique_prefix
from tests.localcloud import lab

REGIONS = {"primary": "us-east-2", "secondary": "us-west-2"}


@pytest.fixture(scope="module")
def deployed(local_cloud):
    prefix = unique_prefix("Lab").replace("-", "")
    stacks = lab.deploy(
        local_cloud, prefix, ["vpc", "storage", "database", "replica", "web"], REGIONS
    )
    yield stacks
    lab.delete(local_cloud, stacks)


def outputs(info: dict) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in info["stack"].get("Outputs", [])}


def test_every_stack_completes(deployed):
    assert {k: v["stack"]["StackStatus"] for k, v in deployed.items()} == {
        k: "CREATE_COMPLETE" for k in deployed
    }
    vpc = outputs(deployed["vpc"])
    assert vpc["AvailabilityZones"] == "us-east-2a,us-east-2b,us-east-2c"


def test_database_outputs_lead_to_a_real_database(local_cloud, deployed):
    out = outputs(deployed["database"])
    sm = local_cloud.client("secretsmanager", "us-east-2")
    secret = json.loads(sm.get_secret_value(SecretId=out["MasterUserSecretArn"])["SecretString"])
    rds = local_cloud.client("rds", "us-east-2")
    [db] = rds.describe_db_instances(DBInstanceIdentifier=out["DBInstanceIdentifier"])[
        "DBInstances"
    ]
    groups = [g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]]
    assert groups == [outputs(deployed["vpc"])["DatabaseSecurityGroupId"]]  # gap 46
    address = out["EndpointAddress"]
    assert address.endswith(".us-east-2.rds.amazonaws.com")  # a DNS name, as on AWS
    # the operator's view: the real databases behind the endpoint names (which resolve only
    # for the local cloud's callers, docs/network-model.md)
    backing = backing_target(address)
    assert backing is not None
    target = replace(backing, user=secret["username"], password=secret["password"])
    target = replace(target, dbname=out["DatabaseName"])
    with connect(target) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("dbadmin",)
    replica = outputs(deployed["replica"])
    assert replica["ReplicaEndpointAddress"] != address
    replica_backing = backing_target(replica["ReplicaEndpointAddress"])
    assert replica_backing is not None
    replica_target = replace(replica_backing, user=secret["username"], password=secret["password"])
    with connect(replica_target) as conn:  # the primary's credentials work on the replica
        assert conn.execute("SELECT current_database()").fetchone() == (out["DatabaseName"],)


def test_website_url_serves_the_real_web_app(deployed):
    url = outputs(deployed["web"])["WebsiteURL"]
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.status == 200
        page = resp.read().decode()
    with urllib.request.urlopen(url + "healthcheck", timeout=10) as resp:
        assert resp.status == 200
    assert "<html" in page.lower()


def test_deleting_the_lab_removes_everything(local_cloud):
    prefix = unique_prefix("Del").replace("-", "")
    stacks = lab.deploy(local_cloud, prefix, ["vpc", "database", "storage", "web"], REGIONS)
    url = outputs(stacks["web"])["WebsiteURL"]
    db_id = outputs(stacks["database"])["DBInstanceIdentifier"]
    lab.delete(local_cloud, stacks)
    cfn = local_cloud.client("cloudformation", "us-east-2")
    summaries = {s["StackName"]: s["StackStatus"] for s in cfn.list_stacks()["StackSummaries"]}
    assert {summaries[info["name"]] for info in stacks.values()} == {"DELETE_COMPLETE"}
    rds = local_cloud.client("rds", "us-east-2")
    assert db_id not in [
        d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]
    ]
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=2)
