"""``reslab --help`` is answered from reslab/cli/summary.py without importing the commands: the
table must be the assembled app's command list, and the fast path must not import boto3."""

from __future__ import annotations

import subprocess
import sys

import click
import typer

from reslab.cli import summary
from reslab.cli.app import build_app, version


def assembled_commands() -> tuple[tuple[str, str], ...]:
    group = typer.main.get_command(build_app())
    ctx = click.Context(group)
    return tuple(
        (name, group.get_command(ctx, name).get_short_help_str(limit=10**6))  # type: ignore[union-attr]
        for name in group.list_commands(ctx)
    )


def test_the_summary_table_is_the_assembled_command_list() -> None:
    assembled = assembled_commands()
    rows = "\n".join(f"    ({name!r}, {text!r})," for name, text in assembled)
    assert assembled == summary.COMMANDS, f"paste into COMMANDS in reslab/cli/summary.py:\n{rows}"
    root = typer.main.get_command(build_app())
    assert root.help == summary.DESCRIPTION


def test_root_help_lists_every_command_and_wraps() -> None:
    text = summary.root_help(width=80)
    assert all(len(line) <= 80 for line in text.splitlines())
    commands = text.split("Commands:\n")[1].splitlines()
    listed = [line.split()[0] for line in commands if line.strip() and line[2:3] != " "]
    assert listed[: len(summary.COMMANDS)] == [name for name, _ in summary.COMMANDS]


def test_help_and_version_do_not_import_the_commands() -> None:
    probe = (
        "import sys; from reslab.cli.app import run; code = run(['--help']); "
        "code += run(['--version']); "
        "heavy = ('boto3', 'typer', 'rich', 'reslab.cli.deploy_cmds'); "
        "heavy = sorted(m for m in heavy if m in sys.modules); "
        "print(code, heavy, file=sys.stderr)"
    )
    command = [sys.executable, "-c", probe]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    assert result.stderr.strip() == "0 []"
    assert "Usage: reslab [OPTIONS] COMMAND" in result.stdout
    assert f"reslab {version()}" in result.stdout
