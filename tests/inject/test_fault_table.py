"""The fault table is the one definition: the inject commands (and their options), the FIS export
and the docs/lab-guide.md list follow its rows."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from reslab.chaos import fault_docs, fis
from reslab.chaos.faults import DURATION, FAULTS, Fault, Options
from reslab.chaos.fis_templates import Settings
from reslab.cli import inject_cmds
from reslab.cli.app import app

#: Every ``reslab inject <fault>`` takes these after its own options: name -> default.
COMMON_OPTIONS = {
    "--region": None,
    "--workshop": None,
    "--stack-prefix": "Resiliency",
    "--endpoint-url": None,
    "--local": False,
    "--dry-run": False,
    "--json": False,
    "--journal-dir": None,
    "--probe": False,
    "--probe-url": None,
    "--probe-interval": 0.5,
    "--baseline": 5.0,
    "--observe": 30.0,
    "--hypothesis": None,
    "--report-dir": None,
    "--force": False,
}
OWN_OPTIONS = {
    "instance": {"--count": 1, "--asg": None, "--seed": None},
    "az": {"--az": None, "--duration": 300.0, "--seed": None},
    "region": {"--duration": 300.0},
    "rds": {"--replica": False, "--replica-region": None, "--db": None},
    "s3": {"--key": "*", "--bucket": None, "--duration": 300.0},
}


def inject_group() -> Any:
    return typer.main.get_command(app).commands["inject"]  # type: ignore[attr-defined]


def options(command: Any) -> dict[str, Any]:
    return {p.opts[0]: p.default for p in command.params}


def test_each_inject_command_has_its_options_then_the_common_ones() -> None:
    commands = inject_group().commands
    assert list(commands) == list(FAULTS) == list(OWN_OPTIONS)
    for name, command in commands.items():
        found = options(command)
        assert list(found) == [*OWN_OPTIONS[name], *COMMON_OPTIONS], name
        assert found == {**OWN_OPTIONS[name], **COMMON_OPTIONS}, name
        assert command.help == FAULTS[name].summary
    flags = {p.opts[0]: p.is_flag for p in commands["rds"].params}
    assert flags["--replica"] and flags["--probe"] and not flags["--db"]


def test_count_below_one_is_refused_before_any_lookup() -> None:
    result = CliRunner().invoke(app, ["inject", "instance", "--count", "0", "--dry-run"])
    assert result.exit_code == 2
    assert "--count" in result.output


@pytest.fixture
def drill() -> Fault:
    """A row that is not in the table, built from the az fault's functions."""
    az = FAULTS["az"]
    return replace(
        az,
        name="drill",
        summary="Drill a hole.",
        flags=("count", "key", DURATION),
        default_duration=12.0,
    )


def test_a_row_becomes_a_command_passing_its_options_through(
    drill: Fault, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    def run_injection(fault: str, opts: Options, duration: float | None, common: Any) -> None:
        seen.update(fault=fault, opts=opts, duration=duration, common=common)

    monkeypatch.setattr(inject_cmds, "run_injection", run_injection)
    group = typer.Typer()
    group.callback()(lambda: None)
    group.command("drill")(inject_cmds.fault_command(drill))
    runner = CliRunner()
    helped = runner.invoke(group, ["drill", "--help"])
    assert helped.exit_code == 0 and "Drill a hole." in helped.output
    result = runner.invoke(
        group, ["drill", "--count", "3", "--key", "a/*", "--probe", "--region", "eu-west-1"]
    )
    assert result.exit_code == 0, result.output
    assert seen["fault"] == "drill" and seen["duration"] == 12.0
    assert seen["opts"] == Options(count=3, key="a/*")
    assert seen["common"].region == "eu-west-1" and seen["common"].probe
    assert seen["common"].stack_prefix == "Resiliency" and not seen["common"].dry_run
    refused = runner.invoke(group, ["drill", "--seed", "1"])  # not one of the row's flags
    assert refused.exit_code == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"flags": ("count", "colour")}, "unknown flags"),
        ({"flags": ("az",)}, "go together"),  # a default duration needs the flag
        ({"revert": None}, "go together"),  # held for a duration but never reverted
    ],
)
def test_a_malformed_row_is_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replace(FAULTS["az"], **change)


def test_fis_export_writes_one_template_per_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fis, "FAULTS", {k: f for k, f in FAULTS.items() if k != "rds"})
    written = fis.export(Settings(region="us-east-2", workshop="lab-test"), tmp_path)
    assert [p.name for p in written] == [
        "fis-instance.json",
        "fis-az.json",
        "fis-region.json",
        "fis-s3.json",
        "ssm-ReslabS3DenyRead.json",
    ]


def test_lab_guide_fault_list_is_current() -> None:
    assert fault_docs.main(["--check"]) == 0, "run: python -m reslab.chaos.fault_docs"


def test_lab_guide_fault_list_follows_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    changed = replace(FAULTS["rds"], summary="Reboot the database, politely.")
    monkeypatch.setitem(FAULTS, "rds", changed)
    assert fault_docs.is_stale()
    assert "Reboot the database, politely." in fault_docs.block()
