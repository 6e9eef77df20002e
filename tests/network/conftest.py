"""Fixtures of the network model's tests."""

from __future__ import annotations

import pytest

from tests.network.topologies import REGION, Private, Vpc


@pytest.fixture
def private(local_cloud) -> Private:
    vpc = Vpc(local_cloud.client("ec2", REGION))
    vpc.enable_dns_hostnames()
    subnet = vpc.subnet(0)
    return Private(vpc, subnet, vpc.route_table(subnet), vpc.group("lambda"))
