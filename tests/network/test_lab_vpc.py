"""The model over the lab's own network: cloudformation/vpc.yaml deployed in the local cloud."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reslab.localcloud.network.parties import (
    DatabasePlacement,
    instance_caller,
    lambda_caller,
)
from reslab.localcloud.network.reach import database_verdict, service_verdict
from reslab.localcloud.testing import unique_prefix, wait_for_stack
from tests.network.topologies import (
    REGION,
    Vpc,
    backend,
    isolate_subnets,
    lambda_function,
    restore_subnets,
    run_instance,
)

TEMPLATE = Path(__file__).resolve().parents[2] / "cloudformation" / "vpc.yaml"


@pytest.fixture(scope="module")
def lab(local_cloud) -> Iterator[dict[str, Any]]:
    cfn = local_cloud.client("cloudformation", REGION)
    name = f"{unique_prefix('net')}-VPC"
    cfn.create_stack(
        StackName=name,
        TemplateBody=TEMPLATE.read_text(),
        Parameters=[{"ParameterKey": "Workshop", "ParameterValue": "network-test"}],
    )
    stack = wait_for_stack(cfn, name)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    outputs["Private"] = outputs["PrivateSubnetIds"].split(",")
    outputs["Public"] = outputs["PublicSubnetIds"].split(",")
    outputs["vpc"] = Vpc(local_cloud.client("ec2", REGION), vpc_id=outputs["VpcId"])
    yield outputs
    cfn.delete_stack(StackName=name)


@pytest.fixture(scope="module")
def web_instance(lab) -> Iterator[Any]:
    instance = run_instance(lab["vpc"], lab["Private"][0], lab["WebSecurityGroupId"])
    yield instance
    lab["vpc"].ec2.terminate_instances(InstanceIds=[instance.id])


def database(lab: dict[str, Any], port: int = 5432) -> DatabasePlacement:
    """The lab database's primary, as the database stack places it (second private subnet)."""
    group = lab["DatabaseSecurityGroupId"]
    return DatabasePlacement("lab-db", lab["Private"][1], (group,), port, False)


@pytest.mark.parametrize("port", [5432, 3306])
def test_the_web_tier_reaches_the_database_on_either_engines_port(lab, web_instance, port) -> None:
    (source,) = instance_caller(web_instance).sources
    verdict = database_verdict(backend(), source, database(lab, port))
    assert verdict.allowed, verdict.explain()


def test_check_lambdas_in_the_lab_vpc_need_a_rule_in_the_database_group(local_cloud, lab) -> None:
    own_group = lab["vpc"].group("checks")
    checks = lambda_caller(lambda_function(local_cloud, tuple(lab["Private"]), (own_group,)))
    for source in checks.sources:
        verdict = database_verdict(backend(), source, database(lab))
        assert verdict.refusal.step == "security-group-ingress"
        assert verdict.refusal.resource == lab["DatabaseSecurityGroupId"]
    outside = lambda_caller(lambda_function(local_cloud))
    refused = database_verdict(backend(), outside.sources[0], database(lab))
    assert refused.refusal.step == "publicly-accessible"


@pytest.mark.parametrize("service", ["rds", "secretsmanager", "s3"])
def test_check_lambdas_in_private_subnets_reach_aws_apis_through_the_nat_gateway(
    local_cloud, lab, service
) -> None:
    """Needs the route tables the template associates (moto records those apart)."""
    checks = lambda_caller(
        lambda_function(local_cloud, tuple(lab["Private"]), (lab["WebSecurityGroupId"],))
    )
    for source in checks.sources:
        verdict = service_verdict(backend(), source, service, REGION)
        assert verdict.allowed, verdict.explain()
        assert any(h.step == "route" and "nat-" in h.detail for h in verdict.hops)


def test_isolating_the_databases_zone_cuts_the_web_tier_off_until_recovery(
    local_cloud, lab, web_instance
) -> None:
    zone_subnets = [lab["Private"][1], lab["Public"][1]]  # what `inject az` picks for AZ 2
    (source,) = instance_caller(web_instance).sources
    acl, previous = isolate_subnets(local_cloud, lab["vpc"], zone_subnets)
    try:
        for established in (False, True):
            verdict = database_verdict(backend(), source, database(lab), established=established)
            assert (verdict.refusal.step, verdict.refusal.resource) == ("network-acl-ingress", acl)
    finally:
        restore_subnets(local_cloud, lab["vpc"], acl, previous)
    assert database_verdict(backend(), source, database(lab)).allowed
