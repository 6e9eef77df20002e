"""Progress lines: elapsed times never negative, the install's duration, the fleet's stage names
the backup check, and what ``reslab deploy`` says to do next."""

from __future__ import annotations

import io

from rich.console import Console

from reslab.cli.deploy_cmds import next_steps
from reslab.fleet.lab import describe_stage
from reslab.progress import StackLine, phase, short_duration
from reslab_lambda.stacks import stack_table


def test_a_stack_created_ahead_of_this_clock_is_never_negative() -> None:
    line = StackLine(stack_table()[0], "ResiliencyVPC", "us-east-2")
    assert line.update("CREATE_IN_PROGRESS", now=100.0, age=-3.0)  # CreationTime 3 s ahead
    assert line.elapsed(100.0) == "0.0s"
    assert line.update("CREATE_COMPLETE", now=104.5)
    assert line.elapsed(200.0) == "4.5s"  # ended: frozen, on the monotonic clock


def test_long_durations_stay_short() -> None:
    assert [short_duration(s) for s in (59.94, 60, 725, 3599, 3600, 11220, 400_000)] == [
        "59.9s",
        "1m00s",
        "12m05s",
        "59m59s",
        "1h00m",
        "3h07m",
        "111h06m",
    ]


def test_a_phase_says_when_it_starts_and_how_long_it_took() -> None:
    out = io.StringIO()
    with phase(Console(file=out), "installing"):
        pass
    first, second = out.getvalue().splitlines()
    assert first == "installing..."
    assert second.startswith("installing: done in ") and second.endswith("s")


def test_the_fleet_stage_names_the_backup_check() -> None:
    up = dict.fromkeys(("vpc", "storage", "database", "replica", "web"), "CREATE_COMPLETE")
    assert describe_stage(up, "deploy") == "5/5 up, backup check"
    assert describe_stage({**up, "web": "CREATE_IN_PROGRESS"}, "deploy") == (
        "4/5 up web CREATE_IN_PROGRESS"
    )


def test_next_steps_name_runnable_commands() -> None:
    steps = next_steps(local=True, cloud_started_here=True)
    assert "reslab local up" in steps[1]
    assert max(len(f"  {step}") for step in steps) <= 80
    text = "\n".join(steps)
    for command in ("reslab inject instance --local", "reslab recover --local"):
        assert command in text
    assert "reslab verify-backup --local --snapshot new" in text
    assert "--local" not in "\n".join(next_steps(local=False, cloud_started_here=False))


def test_next_steps_are_commands_the_app_has() -> None:
    import typer

    from reslab.cli.app import build_app

    app = typer.main.get_command(build_app())
    for step in next_steps(local=True, cloud_started_here=True):
        if "reslab " not in step:
            continue
        words = step.split("reslab ", 1)[1].split("(")[0].strip("` ").split("`")[0].split()
        command = app
        while words and not words[0].startswith("-"):
            command = command.commands[words.pop(0)]  # type: ignore[attr-defined]
        known = {opt for param in command.params for opt in param.opts}
        flags = [w for w in words if w.startswith("-")]
        assert set(flags) <= known, (step, flags)


def test_piped_fleet_progress_shows_the_backup_check() -> None:
    from reslab.fleet.runner import TargetRun
    from reslab.fleet.targets import Target
    from reslab.fleet.view import FleetView

    out = io.StringIO()
    run = TargetRun(Target(1, "us-east-2", "", "room-1", profile="p"), status="running")
    with FleetView(Console(file=out), "fleet deploy") as view:
        for stage in (
            "deploy: 1/4 up",
            "deploy: 4/4 up, backup check",
            "deploy: 4/4 up, backup check",
        ):
            run.stage = stage
            view.update([run])
        run.status = "succeeded"
        view.update([run])
    lines = out.getvalue().splitlines()
    assert len(lines) == 3, lines
    assert lines[1].endswith("deploy: 4/4 up, backup check") and "succeeded" in lines[2]
