"""The checked-in ASL: generated from the stack table, valid, every Task guarded."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reslab.functions import FUNCTIONS
from reslab.machines import MACHINES, asl, deploy, generate
from reslab.machines.restore import RESTORE_MACHINE_PLACEHOLDER
from reslab_lambda.stacks import deploy_levels

FAKE_ARNS = {
    fn.placeholder: f"arn:aws:lambda:us-east-2:123456789012:function:{fn.folder}"
    for fn in FUNCTIONS
} | {RESTORE_MACHINE_PLACEHOLDER: "arn:aws:states:us-east-2:123456789012:stateMachine:r"}
DEPLOY_MACHINES = [m for m, builder in MACHINES.items() if builder == "deploy"]


def all_states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from all_states(branch["States"])


def test_generated_files_are_up_to_date() -> None:
    assert generate.stale_files() == [], "run: python -m reslab.machines"
    assert set(generate.BUILDERS) == set(MACHINES)


def test_module_entry_point_checks() -> None:
    result = subprocess.run([sys.executable, "-m", "reslab.machines", "--check"],
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("machine", list(MACHINES))
def test_statelint_accepts_the_rendered_definition(machine: str, tmp_path: Path) -> None:
    path = tmp_path / f"{machine}.json"
    path.write_text(asl.render(asl.load(machine), FAKE_ARNS))
    statelint = Path(sys.executable).parent / "statelint"
    result = subprocess.run([str(statelint), str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("machine", DEPLOY_MACHINES)
def test_every_task_retries_and_catches(machine: str) -> None:
    definition = json.loads(asl.load(machine))
    tasks = [(n, s) for n, s in all_states(definition["States"]) if s["Type"] == "Task"]
    assert tasks
    for name, state in tasks:
        retried = {e for r in state["Retry"] for e in r["ErrorEquals"]}
        if state["Resource"].startswith("arn:aws:states:::states:"):  # the nested execution
            assert "StepFunctions.ExecutionLimitExceeded" in retried, name
        elif state["Resource"].endswith(".waitForTaskToken"):  # Await: its timeout is caught
            assert {"Lambda.ServiceException", "Lambda.TooManyRequestsException"} <= retried
            assert "States.Timeout" not in retried, name
            assert state["TimeoutSecondsPath"] == "$.event.await_seconds", name
            fallback, failed = state["Catch"]
            assert fallback["ErrorEquals"] == ["States.Timeout"], name
            assert fallback["Next"].startswith("Check "), name
            assert failed["ErrorEquals"] == ["States.ALL"], name
            continue
        else:
            assert {"Lambda.ServiceException", "Lambda.TooManyRequestsException",
                    "States.Timeout"} <= retried, name  # fmt: skip
        assert state["Catch"][0]["ErrorEquals"] == ["States.ALL"], name
    waits = [s for _, s in all_states(definition["States"]) if s["Type"] == "Wait"]
    assert waits and all(w["SecondsPath"] == "$.wait.seconds" for w in waits)


def test_validation_is_the_first_state() -> None:
    for machine in DEPLOY_MACHINES:
        definition = json.loads(asl.load(machine))
        first = definition["States"][definition["StartAt"]]
        assert first["Resource"] == "${ValidateEventFunctionArn}"


def test_levels_follow_the_dependencies() -> None:
    levels = [[s.key for s in level] for level in deploy_levels()]
    assert levels == [
        ["vpc", "storage", "secondary_vpc"], ["database"], ["replica", "web"], ["dms"]
    ]  # fmt: skip
    teardown = json.loads(asl.load("teardown"))
    assert list(teardown["States"])[2:] == [
        "Tear down Dms", "Collect Dms",
        "Tear down Replica + Web", "Collect Replica + Web",
        "Tear down Database", "Collect Database",
        "Tear down VPC + Storage + SecondaryVPC", "Collect VPC + Storage + SecondaryVPC",
    ]  # fmt: skip


def test_the_teardown_deletes_the_dms_stack_only_after_its_task_stopped() -> None:
    teardown = json.loads(asl.load("teardown"))
    [branch] = teardown["States"]["Tear down Dms"]["Branches"]
    choices = branch["States"]["Dms gone?"]["Choices"]
    assert {"Variable": "$.stacks.dms.status", "StringEquals": "REPLICATION_STOPPED",
            "Next": "Delete Dms"} in choices  # fmt: skip


def test_render_fills_every_placeholder_and_refuses_missing_ones() -> None:
    text = asl.load("deploy")
    assert asl.placeholders(text) == {
        "ValidateEventFunctionArn", "CreateStackFunctionArn", "StackStatusFunctionArn",
        "AwaitStackFunctionArn", "RestoreStateMachineArn",
    }  # fmt: skip
    assert "${" not in asl.render(text, FAKE_ARNS)
    with pytest.raises(KeyError, match="CreateStackFunctionArn"):
        asl.render(text, {"ValidateEventFunctionArn": "x"})


def test_mermaid_diagram_has_a_node_per_state() -> None:
    definition = deploy.deploy_definition()
    diagram = asl.mermaid(definition)
    assert diagram.startswith("flowchart TD")
    assert (
        'subgraph Deploy_VPC___Storage___SecondaryVPC["Deploy VPC + Storage + SecondaryVPC"]'
        in diagram
    )
    assert "Create_Database --> Database_create_started" in diagram
