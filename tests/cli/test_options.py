"""The same option means the same thing everywhere, and a command lists only what applies."""

from __future__ import annotations

from typing import Any

import pytest
import typer

from reslab import sweep
from reslab.cli.app import build_app

APP = typer.main.get_command(build_app())


def options_of(*path: str) -> set[str]:
    command: Any = APP
    for name in path:
        command = command.commands[name]
    return {opt for param in command.params for opt in param.opts}


@pytest.mark.parametrize("command", ["deploy", "destroy", "status", "reset"])
def test_lab_commands_take_the_lab_options(command: str) -> None:
    assert {"--json", "--region", "--workshop", "--stack-prefix", "--name", "--local"} <= (
        options_of(command)
    )


@pytest.mark.parametrize("action", ["deploy", "destroy", "reset", "status"])
def test_fleet_commands(action: str) -> None:
    found = options_of("fleet", action)
    assert {"--targets", "--only", "--json", "--local", "--event"} <= found
    if action == "status":  # read-only: no fan-out knob, no state file to override
        assert not found & {"--concurrency", "--all"}
    else:
        assert {"--concurrency", "--all"} <= found


def test_version_is_an_option_of_the_app() -> None:
    assert "--version" in {opt for param in APP.params for opt in param.opts}


def test_sweep_says_why_it_keeps_a_resource() -> None:
    other = sweep.Found("other", "us-east-2", "sg-1", "arn:aws:ec2:us-east-2:1:security-group/sg-1")
    failed = sweep.Found("rds-instance", "us-east-2", "db-1", detail="available")
    slow = sweep.Found("stack", "us-west-2", "LabWeb", detail="DELETE_IN_PROGRESS")
    failures = ["rds-instance db-1 (us-east-2): InvalidDBInstanceState: is being modified"]
    assert sweep.why_kept(failed, failures) == (
        "its delete call failed: InvalidDBInstanceState: is being modified"
    )
    assert "DELETE_IN_PROGRESS" in sweep.why_kept(slow, failures)
    assert "rerun `reslab sweep --delete`" in sweep.why_kept(slow, failures)
    found = sweep.Found("other", "us-east-2", "sg-1", other.arn, sweep.no_deleter(other.arn))
    assert sweep.why_kept(found, []) == (
        "kept: sweep has no row for ec2 resources of this type (delete it by hand)"
    )
