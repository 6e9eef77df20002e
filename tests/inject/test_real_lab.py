"""The commands against the lab as the lab's own templates build it: deployed by the real deploy
state machine into the shared local cloud (real web app behind the WebsiteURL output)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reslab import execution
from reslab.chaos.errors import SteadyStateNotMet
from reslab.chaos.faults import Options
from reslab.chaos.journal import Journal
from reslab.chaos.lab import Lab
from reslab.chaos.lookups import bucket_policy_text, lab_subnets, subnet_acl_associations
from reslab.chaos.probe import SteadyStateProbe
from reslab.chaos.runner import inject, recover
from reslab.event import local_event, validate_event
from reslab.installer.install import install
from reslab.localcloud.testing import unique_prefix

REGION = "us-east-2"


def quiet(_text: str) -> None:
    pass


@pytest.fixture(scope="module")
def real_lab(local_cloud: Any) -> Iterator[Lab]:
    name = unique_prefix("inj")
    prefix = name.replace("-", "").capitalize()
    event = validate_event(
        local_event(name, {"stack_prefix": prefix, "workshop": f"reslab test {name}"})
    )
    installation = install(local_cloud.client, name, event)
    sfn = local_cloud.client("stepfunctions", REGION)
    arn = execution.start(sfn, installation.machines["deploy"], event, "deploy")
    execution.wait(sfn, arn, poll_seconds=0.5).raise_for_status()
    yield Lab(REGION, event["workshop"], prefix, endpoint_url=local_cloud.endpoint_url)
    # free its databases and web app for the rest of the session (the full teardown machine
    # takes ~10 s more and is tested by the deploy area)
    for suffix, region in (("Web", REGION), ("Replica", "us-west-2"), ("Database", REGION)):
        local_cloud.client("cloudformation", region).delete_stack(StackName=f"{prefix}{suffix}")


def lab_state(lab: Lab) -> dict[str, Any]:
    ec2 = lab.client("ec2")
    subnets = [s["SubnetId"] for s in lab_subnets(lab)]
    bucket = lab.output("Storage", "WebsiteBucketName")
    assert bucket
    return {
        "subnet_acl": {k: v["acl"] for k, v in subnet_acl_associations(ec2, subnets).items()},
        "policy": bucket_policy_text(lab.client("s3"), bucket),
        "acls": sorted(
            a["NetworkAclId"]
            for a in ec2.describe_network_acls(
                Filters=[{"Name": "vpc-id", "Values": [lab.output("VPC", "VpcId") or ""]}]
            )["NetworkAcls"]
        ),
    }


def test_every_fault_plans_against_the_real_templates(real_lab: Lab, tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    zones = (real_lab.output("VPC", "AvailabilityZones") or "").split(",")
    for fault, opts in (
        ("instance", Options()),
        ("az", Options(az=zones[0])),
        ("rds", Options(replica=True, replica_region="us-west-2")),
        ("s3", Options()),
    ):
        outcome = inject(real_lab, fault, opts, journal, duration=1, dry_run=True, say=quiet)
        assert outcome.plan.calls and outcome.plan.targets, fault
    assert journal.entries() == []


def test_az_and_s3_round_trip_with_the_web_app_watching(real_lab: Lab, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal")
    before = lab_state(real_lab)
    url = real_lab.output("Web", "WebsiteURL")
    assert url and url.startswith("http://127.0.0.1:")
    zones = (real_lab.output("VPC", "AvailabilityZones") or "").split(",")
    probe = SteadyStateProbe(url, interval=0.2)
    outcome = inject(
        real_lab, "az", Options(az=zones[1]), journal, duration=0.5, probe=probe,
        baseline_s=0.6, observe_s=0.4, report_dir=tmp_path / "report", say=quiet,
    )  # fmt: skip
    assert outcome.summary is not None and outcome.summary["requests"] >= 5
    assert outcome.summary["availability"] == 100.0  # moto's ACLs block nothing
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert {s["instance"] for s in report["probe"]["samples"]} != {None}
    assert lab_state(real_lab) == before

    inject(real_lab, "s3", Options(), journal, duration=0, say=quiet)
    assert lab_state(real_lab)["policy"] != before["policy"]
    recover(journal, lambda _entry: real_lab, say=quiet)
    assert lab_state(real_lab) == before


def test_a_target_failing_before_the_injection_is_refused(real_lab: Lab, tmp_path: Path) -> None:
    """The lab's own web tier answers 404 on a missing page: nothing is injected."""
    journal = Journal(tmp_path / "journal")
    before = lab_state(real_lab)
    url = f"{real_lab.output('Web', 'WebsiteURL')}no-such-page"
    probe = SteadyStateProbe(url, interval=0.2)
    with pytest.raises(SteadyStateNotMet) as refused:
        inject(real_lab, "s3", Options(), journal, duration=0.5, probe=probe, baseline_s=0.6,
               report_dir=tmp_path / "report", say=quiet)  # fmt: skip
    assert str(refused.value).startswith("steady state not met before injection: 404 x")
    assert f"from {url};" in str(refused.value)
    assert journal.entries() == [] and lab_state(real_lab) == before
