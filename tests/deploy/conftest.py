"""Fixtures for deploy tests: the shared local cloud and a freshly installed lab per test."""

from __future__ import annotations

import itertools
import logging
import os
from dataclasses import dataclass
from typing import Any

import pytest

from reslab import execution
from reslab.event import local_event, validate_event
from reslab.installer.install import Installation, install
from reslab_lambda.cfn import describe
from reslab_lambda.stacks import stack_table
from tests.deploy.stubs import upload_stubs

REGIONS = ("us-east-2", "us-west-2")
_counter = itertools.count()


@pytest.fixture(scope="session")
def cloud(local_cloud: Any) -> Any:
    """The session's shared local cloud (tests/conftest.py), with moto's failure logs muted."""
    # moto logs every failed state with the whole parsed program: megabytes per failure test.
    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
    return local_cloud


@dataclass
class Lab:
    """One installed lab: its own install name, stack prefix and buckets."""

    cloud: Any
    name: str
    event: dict[str, Any]
    installation: Installation

    def client(self, service: str, region: str = "us-east-2") -> Any:
        return self.cloud.client(service, region)

    def run(self, machine: str, event: dict[str, Any] | None = None) -> execution.Outcome:
        sfn = self.client("stepfunctions")
        machine_arn = self.installation.machines[machine]
        arn = execution.start(sfn, machine_arn, event or self.event, machine)
        return execution.wait(sfn, arn)

    def states(self, outcome: execution.Outcome) -> list[str]:
        return execution.entered_states(self.client("stepfunctions"), outcome.arn)

    def stacks(self) -> dict[str, dict[str, Any]]:
        """Existing stacks of this lab by key (absent keys: no such stack)."""
        found = {}
        normalised = validate_event(self.event)
        for spec in stack_table():
            region = spec.region(normalised)
            if region is None:
                continue
            cfn = self.client("cloudformation", region)
            if stack := describe(cfn, spec.stack_name(normalised)):
                found[spec.key] = stack
        return found

    def buckets(self) -> set[str]:
        return {b["Name"] for b in self.client("s3").list_buckets()["Buckets"]}


def new_lab(cloud: Any, stubs: bool, **overrides: Any) -> Lab:
    n = next(_counter)
    name = f"t{os.getpid() % 10000}x{n}"
    prefix = f"T{os.getpid() % 10000}x{n}"
    settings: dict[str, Any] = {"stack_prefix": prefix, "workshop": f"reslab test {name}"}
    if stubs:  # stub stacks have no database to restore: the nested backup check is skipped
        settings["skip_backup_check"] = True
    settings.update(overrides)
    event = local_event(name, settings)
    installation = install(cloud.client, name, validate_event(event))
    if stubs:
        upload_stubs(cloud.client, event)
    return Lab(cloud, name, event, installation)


@pytest.fixture
def stub_lab(cloud: Any) -> Lab:
    """A freshly installed lab whose templates are the fast stubs."""
    return new_lab(cloud, stubs=True)
