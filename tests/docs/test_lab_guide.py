"""docs/lab-guide.md: every ``reslab ...`` command it prints (code blocks and inline code) names a
real command, and every option it gives exists on that command; every ``--option`` it mentions in
prose exists on some ``reslab`` command; the "common options" exist on
every injection."""

from __future__ import annotations

import re
import shlex
from typing import Any

import typer

from reslab import REPO_ROOT
from reslab.chaos.faults import FAULTS
from reslab.cli.app import app

PAGE = (REPO_ROOT / "docs" / "lab-guide.md").read_text(encoding="utf-8")
ROOT = typer.main.get_command(app)


def commands_in_page() -> list[str]:
    found = []
    for block in re.findall(r"```(?:bash|sh)\n(.*?)```", PAGE, flags=re.S):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            line = line.split(" #", 1)[0].strip().rstrip("&").strip()
            if line.startswith("reslab "):
                found.append(line)
    prose = re.sub(r"```.*?```", "", PAGE, flags=re.S)
    found += [c for c in re.findall(r"`([^`]+)`", prose) if c.startswith("reslab ")]
    return found


def is_group(command: Any) -> bool:
    return hasattr(command, "list_commands")  # typer's (vendored) click group


def resolve(words: list[str]) -> tuple[Any, list[str]]:
    """The click command the words name, and the words left for it (options and arguments)."""
    command = ROOT
    rest = words[1:]
    while is_group(command) and rest and not rest[0].startswith("-"):
        sub = command.get_command(command.make_context(command.name, [], resilient_parsing=True),
                                  rest[0])  # fmt: skip
        assert sub is not None, f"`{' '.join(words)}`: no command {rest[0]!r} under {command.name}"
        command, rest = sub, rest[1:]
    return command, rest


def option_names(command: Any) -> set[str]:
    return {
        name
        for param in command.params
        if param.param_type_name == "option"
        for name in (*param.opts, *param.secondary_opts)
    }


def test_every_command_and_option_the_guide_prints_exists() -> None:
    commands = commands_in_page()
    assert len(commands) >= 15, commands
    for text in commands:
        words = shlex.split(text.replace("<", "X").replace(">", "X"))
        command, rest = resolve(words)
        if is_group(command):  # prose naming a group ("the `reslab inject` commands")
            assert rest == [], f"`{text}`: {command.name} is a group"
            continue
        unknown = [
            w.split("=", 1)[0]
            for w in rest
            if w.startswith("--") and w.split("=", 1)[0] not in option_names(command)
        ]
        assert unknown == [], f"`{text}`: {command.name} has no {', '.join(unknown)}"


def all_options(command: Any = ROOT) -> set[str]:
    """Every option of every command of the app."""
    if not is_group(command):
        return option_names(command)
    context = command.make_context(command.name, [], resilient_parsing=True)
    names: set[str] = set()
    for name in command.list_commands(context):
        names |= all_options(command.get_command(context, name))
    return names


def test_every_option_the_prose_mentions_exists() -> None:
    prose = re.sub(r"```.*?```", "", PAGE, flags=re.S)
    mentioned = set(re.findall(r"`(--[a-z][a-z0-9-]*)", prose))
    assert {"--probe", "--force", "--hypothesis", "--local"} <= mentioned
    assert sorted(mentioned - all_options()) == []


def test_the_common_options_exist_on_every_injection_and_recover() -> None:
    paragraph = PAGE.split("Common options of", 1)[1].split("\n\n", 1)[0]
    common = set(re.findall(r"`(--[a-z][a-z0-9-]*)", paragraph))
    assert {"--region", "--workshop", "--stack-prefix", "--local", "--dry-run"} <= common
    for fault in FAULTS:
        command = resolve(["reslab", "inject", fault])[0]
        assert sorted(common - option_names(command)) == [], fault
    recover = option_names(resolve(["reslab", "recover"])[0])
    assert sorted(common - recover) == ["--json"]  # the guide says recover has no --json


def test_the_screenshots_it_shows_exist_and_are_generated_ones() -> None:
    shown = re.findall(r"!\[[^\]]*\]\((images/[^)]+)\)", PAGE)
    assert {"images/lab-page.png", "images/chart-rds-failover.png"} <= set(shown)
    for image in shown:
        path = REPO_ROOT / "docs" / image
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", image
        assert path.stat().st_size < 200_000, f"{image}: keep the committed screenshots small"
    assert "make docs-screenshots" in PAGE
