"""The gap table of docs/local-cloud.md and ``compat.PATCHES`` (the ordered install list) agree."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from reslab.localcloud import compat

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "reslab" / "localcloud"
DOC = ROOT / "docs" / "local-cloud.md"
_GAP_ID = re.compile(r"^(\d+)([a-z]?)$")
_MODULE_PATH = re.compile(r"`([a-z0-9_/]+\.py)`")


def _gap_rows() -> list[tuple[str, set[str]]]:
    """(gap id, module paths named in the workaround cell) for each row, in table order."""
    text = DOC.read_text()
    section = text[text.index("## moto gaps and workarounds") :]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and _GAP_ID.match(cells[0]):
            rows.append((cells[0], set(_MODULE_PATH.findall(cells[-1]))))
    return rows


def _doc_path(module: str) -> str:
    """``reslab.localcloud.compat.rds`` -> ``compat/rds.py`` (as the table names it)."""
    return module.removeprefix("reslab.localcloud.").replace(".", "/") + ".py"


def _modules_with_install() -> set[str]:
    """Doc paths of every module under reslab/localcloud defining a top-level ``install()``."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        if any(isinstance(n, ast.FunctionDef) and n.name == "install" for n in tree.body):
            found.add(path.relative_to(PACKAGE).as_posix())
    return found


def _gap_key(gap: str) -> tuple[int, str]:
    match = _GAP_ID.match(gap)
    assert match, gap
    return int(match.group(1)), match.group(2)


def test_gap_numbers_are_unique_and_in_order() -> None:
    gaps = [gap for gap, _ in _gap_rows()]
    assert len(gaps) > 30
    assert len(set(gaps)) == len(gaps)
    assert gaps == sorted(gaps, key=_gap_key)


def test_every_module_the_table_names_exists() -> None:
    named = set().union(*(modules for _, modules in _gap_rows()))
    assert named
    missing = sorted(path for path in named if not (PACKAGE / path).is_file())
    assert missing == []


def test_each_patch_closes_rows_that_name_its_module() -> None:
    rows = dict(_gap_rows())
    for patch in compat.PATCHES:
        assert patch.gaps, patch.module
        for gap in patch.gaps:
            assert gap in rows, f"{patch.module}: no row {gap} in docs/local-cloud.md"
            assert _doc_path(patch.module) in rows[gap], f"row {gap} does not name {patch.module}"


def test_every_patch_module_a_row_names_is_listed_for_that_row() -> None:
    listed = {(gap, _doc_path(p.module)) for p in compat.PATCHES for gap in p.gaps}
    patch_modules = _modules_with_install()
    for gap, modules in _gap_rows():
        for path in modules & patch_modules:
            assert (gap, path) in listed, f"PATCHES: {path} is not keyed by row {gap}"


def test_every_module_with_an_install_is_in_the_list_once() -> None:
    listed = [_doc_path(p.module) for p in compat.PATCHES]
    assert len(set(listed)) == len(listed)
    assert set(listed) == _modules_with_install()


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        ("compat.rds", "compat.rds_snapshots"),
        ("compat.cloudformation.missing_types", "compat.cloudformation.scheduler_types"),
        ("compat.cloudformation.stack_lifecycle", "webtier"),
    ],
)
def test_the_order_constraints_documented_in_the_list_hold(earlier: str, later: str) -> None:
    order = [p.module.removeprefix("reslab.localcloud.") for p in compat.PATCHES]
    assert order.index(earlier) < order.index(later)


def test_a_later_patch_wraps_an_earlier_one(local_cloud) -> None:  # noqa: ANN001 - fixture
    from moto.rds.models import RDSBackend

    from reslab.localcloud.compat.cloudformation import stack_lifecycle
    from reslab.localcloud.webtier import on_stack_created

    # compat.rds and compat.rds_snapshots both wrap it; the later-installed one is outermost.
    assert RDSBackend.create_db_instance.__module__ == "reslab.localcloud.compat.rds_snapshots"
    assert on_stack_created in stack_lifecycle.AFTER_CREATE
