"""The whole two-region DMS lab through the deploy machine, as a user runs it:
``reslab deploy --local`` with a ``dms: true`` event installs (the target preparation code goes
to a bucket in the secondary region), deploys the seven stacks, the status handoff invokes the
dms stack's preparation function (in the secondary VPC, reading the target's secrets) and then
starts the task; the web tier's hits reach the target; the regional failover exercise runs on
it; ``reslab destroy`` removes every stack and ``reslab sweep`` the rest (the code bucket
included)."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path
from typing import Any

import requests

from reslab import sweep
from reslab.checks import run_checks
from reslab.dburl import DbTarget
from reslab.installer.stack_code import code_bucket_name
from reslab.localcloud import dbbacking
from reslab.localcloud.state import write_state
from tests.deploy.test_cli import last_line, run, write_event
from tests.dms.test_dms_api import _master as master_login
from tests.dms.test_dms_api import _wait
from tests.dms.test_private_mysql import _count

REGION, SECONDARY = "us-east-2", "us-west-2"


def _outputs(cloud: Any, region: str, stack: str) -> dict[str, str]:
    [found] = cloud.client("cloudformation", region).describe_stacks(StackName=stack)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in found["Outputs"]}


def _master(cloud: Any, region: str, instance_id: str) -> DbTarget:
    """The instance's master user on its own private server (the operator's view: its endpoint
    name resolves only inside the lab's network)."""
    rds = cloud.client("rds", region)
    [db] = rds.describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"]
    return master_login(cloud, db, region)


def test_a_dms_lab_deploys_replicates_fails_over_and_is_removed(
    local_cloud: Any, tmp_path: Path
) -> None:
    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
    write_state(local_cloud.endpoint_url, tmp_path)
    workshop = f"dmslab-{uuid.uuid4().hex[:8]}"
    path = write_event(
        tmp_path,
        "dmslab",
        workshop=workshop,
        engine="mysql",
        dms=True,
        region_name=REGION,
        secondary_region_name=SECONDARY,
    )
    with dbbacking.switch_backing(dbbacking.PRIVATE_MYSQL):
        deployed = run(["deploy", "--local", "--event", str(path), "--json"], tmp_path)
        assert deployed.returncode == 0, deployed.stderr[-3000:]
        outcome = json.loads(deployed.stdout)
        assert outcome["status"] == "SUCCEEDED"
        stacks = outcome["output"]["stacks"]
        assert {k: (e["status"], e["region"]) for k, e in stacks.items()} == {
            "vpc": ("CREATE_COMPLETE", REGION),
            "storage": ("CREATE_COMPLETE", REGION),
            "database": ("CREATE_COMPLETE", REGION),
            "web": ("CREATE_COMPLETE", REGION),
            "secondary_vpc": ("CREATE_COMPLETE", SECONDARY),
            "replica": ("CREATE_COMPLETE", SECONDARY),
            "dms": ("CREATE_COMPLETE", SECONDARY),  # after the preparation and the full load
        }
        assert outcome["output"]["backup_check"]["status"] == "SUCCEEDED"

        # the preparation function ran in the secondary region, from the code bucket there
        dms_outputs = _outputs(local_cloud, SECONDARY, "DmslabDms")
        function = local_cloud.client("lambda", SECONDARY).get_function(
            FunctionName=dms_outputs["TargetPreparationFunctionArn"]
        )["Configuration"]
        assert function["VpcConfig"]["SubnetIds"]

        # the web tier's hits go primary -> replica -> DMS -> target
        source = _master(
            local_cloud,
            REGION,
            _outputs(local_cloud, REGION, "DmslabDatabase")["DBInstanceIdentifier"],
        )
        target = _master(local_cloud, SECONDARY, dms_outputs["TargetInstanceIdentifier"])
        site = _outputs(local_cloud, REGION, "DmslabWeb")["WebsiteURL"]
        for _ in range(5):
            assert requests.get(site, timeout=10).status_code == 200
        written = _count(source)
        assert written >= 5
        _wait(lambda: _count(target) == written, "the web tier's hits to reach the target")
        report = run_checks(source.url(), target.url())
        assert [c.name for c in report.checks if c.status != "pass"] == []

        # the regional failover exercise on the deployed lab, as the lab guide runs it: the
        # primary region is cut off, the participant promotes the target, the region comes
        # back; nothing was written after the cut, so nothing was lost
        lab = ["--local", "--workshop", workshop, "--stack-prefix", "Dmslab"]
        cut = run(["inject", "region", "--duration", "0", "--region", REGION, *lab], tmp_path)
        assert cut.returncode == 0, cut.stderr[-2000:]
        over = run(
            ["failover", "--region", "--secondary", SECONDARY, "--lab-region", REGION, *lab]
            + ["--quiet-seconds", "1", "--timeout", "60", "--json"],
            tmp_path,
        )
        assert over.returncode == 0, over.stderr[-2000:]
        promoted = json.loads(over.stdout)
        assert promoted["drained"] and promoted["applied"] >= written
        assert promoted["target_address"].startswith("dmslabdms-targetdatabase-")
        back = run(["recover", "region", "--region", REGION, *lab], tmp_path)
        assert back.returncode == 0, back.stderr[-2000:]
        rpo = run(["db-rpo", source.url(), target.url(), "--json"], tmp_path)
        assert rpo.returncode == 0, rpo.stderr[-2000:]
        assert json.loads(rpo.stdout)["lost"] == 0

        destroyed = run(["destroy", "--local", "--event", str(path)], tmp_path)
        assert destroyed.returncode == 0, destroyed.stderr[-3000:]
        for region in (REGION, SECONDARY):
            left = local_cloud.client("cloudformation", region).describe_stacks()["Stacks"]
            assert not [s for s in left if s["StackName"].startswith("Dmslab")], region

        # what the install made outside the stacks is tagged and removed by the sweep,
        # the code bucket in the secondary region too
        found = sweep.find(local_cloud.client, workshop, [REGION, SECONDARY])
        account = local_cloud.client("sts", REGION).get_caller_identity()["Account"]
        assert [f.id for f in found if f.kind == "s3-bucket" and f.region == SECONDARY] == [
            code_bucket_name("Dmslab", account, SECONDARY)
        ]
        report = sweep.delete(
            local_cloud.client, workshop, [REGION, SECONDARY], lambda _: None, poll=0.2
        )
        assert report.failures == []
        assert sweep.find(local_cloud.client, workshop, [REGION, SECONDARY]) == []


def test_a_running_cloud_without_private_mysql_is_refused_before_anything_is_created(
    local_cloud: Any, tmp_path: Path
) -> None:
    """``reslab local up`` without ``--db-url private-mysql`` cannot host the DMS mode (its MySQL
    instances share a server, so no replica has a binary log of its own): a deploy reusing it
    says so, by name, and creates nothing."""
    write_state(local_cloud.endpoint_url, tmp_path, backing="embedded")
    path = write_event(
        tmp_path, "dmsnope", engine="mysql", dms=True, secondary_region_name=SECONDARY
    )
    refused = run(["deploy", "--local", "--event", str(path), "--name", "dmsnope"], tmp_path)
    assert refused.returncode == 1
    assert last_line(refused.stderr).startswith(
        "LocalCloudError: dms: the running local cloud backs RDS with embedded"
    )
    assert "--db-url private-mysql" in refused.stderr
    for region in (REGION, SECONDARY):
        stacks = local_cloud.client("cloudformation", region).describe_stacks()["Stacks"]
        assert not [s for s in stacks if s["StackName"].lower().startswith("dmsnope")], region
