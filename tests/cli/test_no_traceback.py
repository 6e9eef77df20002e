"""No traceback ever: every command of the app, found by walking it (a new command is covered
without editing this file), with a missing, an unreadable and a malformed input file, a bad
option value, and no local cloud running, ends with one ``Name: message`` line (the last on
stderr) and a non-zero exit.

In process (``reslab.cli.app.run``, what the ``reslab`` script runs), so the whole walk takes
seconds; a few cases again as subprocesses, for the script's own exit path.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer

from reslab.cli.app import build_app, run

#: ``Name: message``: a name without spaces (``FileNotFoundError``, ``InvalidEvent``...).
ONE_LINE = re.compile(r"^[A-Z][A-Za-z0-9]+: \S")
#: Path options a command writes to (directories it creates), not files it reads.
OUTPUTS = {"--out", "--state-dir", "--journal-dir", "--report-dir"}
PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
#: Commands that, with no local cloud running, start one for their own run (deploy-like: the
#: cloud is what they are for), and ``package``, whose --local picks how the zips are built.
STARTS_OR_NEEDS_NO_CLOUD = {
    "deploy",
    "reset",
    "install",
    "local up",
    "fleet deploy",
    "fleet reset",
    "package",
}
#: Extra arguments that make a command talk to the cloud in the no-cloud case.
NEEDS_CLOUD = {"fis export": ["--validate-remote"], "failover": ["--region"]}
GARBAGE = "{not: valid, json\n\x00\x01,,,\n"


def leaves(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    subcommands = getattr(command, "commands", None)
    if subcommands is None:
        yield " ".join(path), command
        return
    for name, sub in sorted(subcommands.items()):
        yield from leaves(sub, (*path, name))


COMMANDS = dict(leaves(typer.main.get_command(build_app())))


def annotation(param: Any) -> Any:
    return param.type_descriptor.annotation


def is_input_file(param: Any) -> bool:
    return annotation(param) in (Path, Path | None) and not set(param.opts) & OUTPUTS


def flag(param: Any) -> str | None:
    return param.opts[0] if param.opts[0].startswith("-") else None


@dataclass
class Files:
    targets: Path
    event: Path
    missing: Path
    unreadable: Path
    malformed: Path


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Files:
    """An empty working directory (no .reslab/local.json: no local cloud), no AWS credentials."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "RESLAB_WORKSHOP", "RESLAB_DEBUG"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    targets = tmp_path / "targets.csv"
    targets.write_text(
        "profile,region,secondary_region,workshop\nstudent1,us-east-2,us-west-2,room-1\n"
    )
    event = tmp_path / "event.json"
    event.write_text("{}")
    unreadable = tmp_path / "unreadable.json"
    if os.geteuid() == 0:  # root reads a mode-000 file: a directory is unreadable as a file
        unreadable.mkdir()
    else:
        unreadable.write_text("{}")
        unreadable.chmod(0)
    malformed = tmp_path / "malformed.json"
    malformed.write_text(GARBAGE)
    return Files(targets, event, tmp_path / "missing.json", unreadable, malformed)


def required_args(command: Any, files: Files, skip: Any = None) -> list[str]:
    """Values for the command's required parameters (so a case reaches what it tests)."""
    values = {"--targets": str(files.targets), "--workshop": "room-1"}
    by_metavar = {
        "SOURCE_URL": PG_URL,
        "TARGET_URL": PG_URL,
        "PRIMARY_URL": PG_URL,
        "MODE": "resilient",
    }
    args: list[str] = []
    for param in command.params:
        if not param.required or param is skip:
            continue
        name = flag(param)
        if name is None:
            args.append(by_metavar[param.metavar])
        else:
            assert name in values, f"add a value for the required {name} to required_args()"
            args += [name, values[name]]
    return args


def assert_one_line(args: list[str], code: int, stderr: str) -> None:
    shown = f"reslab {' '.join(args)} (exit {code}):\n{stderr[-2000:]}"
    assert "Traceback" not in stderr, shown
    assert code != 0, shown
    lines = stderr.rstrip("\n").splitlines()
    assert lines, shown
    assert ONE_LINE.match(lines[-1]), shown
    assert not lines[-1].startswith("InternalError:"), shown  # a bug, not a worded failure


def invoke(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = run(args)
    return code, capsys.readouterr().err


def file_cases() -> Iterator[Any]:
    for name, command in COMMANDS.items():
        for param in command.params:
            if is_input_file(param):
                for kind in ("missing", "unreadable", "malformed"):
                    yield pytest.param(name, flag(param), kind, id=f"{name} {flag(param)} {kind}")


@pytest.mark.parametrize(("name", "option", "kind"), list(file_cases()))
def test_a_bad_input_file_is_one_line(
    name: str, option: str, kind: str, files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    command = COMMANDS[name]
    param = next(p for p in command.params if flag(p) == option)
    args = [*name.split(), *required_args(command, files, skip=param)]
    args += [option, str(getattr(files, kind))]
    assert_one_line(args, *invoke(args, capsys))


def option_cases() -> Iterator[Any]:
    for name, command in COMMANDS.items():
        yield pytest.param(name, ["--no-such-option"], id=f"{name} --no-such-option")
        for param in command.params:
            if annotation(param) in (int, float, int | None, float | None) and flag(param):
                yield pytest.param(name, [flag(param), "many"], id=f"{name} {flag(param)} many")


@pytest.mark.parametrize(("name", "bad"), list(option_cases()))
def test_a_bad_option_is_one_line(
    name: str, bad: list[str], files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [*name.split(), *required_args(COMMANDS[name], files), *bad]
    code, err = invoke(args, capsys)
    assert_one_line(args, code, err)
    assert code == 2


def cloud_cases() -> Iterator[Any]:
    for name, command in COMMANDS.items():
        if name in STARTS_OR_NEEDS_NO_CLOUD:
            continue
        if any(flag(p) == "--local" for p in command.params) or name == "local status":
            yield pytest.param(name, id=name)


@pytest.mark.parametrize("name", list(cloud_cases()))
def test_no_local_cloud_is_one_line(
    name: str, files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    command = COMMANDS[name]
    local = ["--local"] if any(flag(p) == "--local" for p in command.params) else []
    args = [*name.split(), *required_args(command, files), *local, *NEEDS_CLOUD.get(name, [])]
    code, err = invoke(args, capsys)
    assert_one_line(args, code, err)
    assert "local cloud" in err.splitlines()[-1], err


def test_the_walk_covers_every_command() -> None:
    """The walk finds the commands (so a broken walk cannot pass by testing nothing)."""
    assert {"deploy", "status", "fleet status", "inject s3", "local up", "db-diff"} <= set(COMMANDS)
    assert len(list(file_cases())) >= 3 * 8
    assert set(COMMANDS) >= STARTS_OR_NEEDS_NO_CLOUD


def test_no_command_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = invoke([], capsys)
    assert code == 2 and err.splitlines()[-1] == "UsageError: missing command (the list is above)"
    capsys.readouterr()
    assert run(["--version"]) == 0
    assert re.fullmatch(r"reslab \S+\n", capsys.readouterr().out)


@pytest.mark.parametrize(
    "args",
    [
        ["status", "--event", "/nonexistent/event.json"],
        ["db-diff", PG_URL],
        ["reports", "--local"],
        ["fleet", "status", "--concurrency", "2", "--targets", "t.csv"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_the_script_exits_with_one_line(args: list[str], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RESLAB_"))}
    env.update(AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY="")
    done = subprocess.run(
        [sys.executable, "-m", "reslab", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert_one_line(args, done.returncode, done.stderr)
