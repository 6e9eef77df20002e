"""docs/architecture.md names files, modules and generators: each must exist, or the page lies."""

from __future__ import annotations

import importlib.util
import re

from reslab import REPO_ROOT

PAGE = (REPO_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
_PROSE = re.sub(r"```.*?```", "", PAGE, flags=re.S)  # fenced blocks are diagrams, not names
_CODE = re.findall(r"`([^`]+)`", _PROSE)


def test_every_path_it_names_exists() -> None:
    paths = [c for c in _CODE if "/" in c and " " not in c and "<" not in c and "$" not in c]
    assert paths, "the page names no paths"
    missing = [p for p in paths if not (REPO_ROOT / p).exists()]
    assert missing == []


def test_every_generator_it_names_is_a_runnable_module() -> None:
    commands = [c for c in _CODE if c.startswith("python -m ")]
    assert len(commands) >= 4
    for command in commands:
        module = command.split()[2]
        assert importlib.util.find_spec(module) is not None, command


def test_every_dotted_module_it_names_imports() -> None:
    modules = {c for c in _CODE if re.fullmatch(r"reslab(_lambda)?(\.\w+)+", c)}
    assert "reslab_lambda.stacks" in modules
    for name in modules:
        assert importlib.util.find_spec(name) is not None, name
