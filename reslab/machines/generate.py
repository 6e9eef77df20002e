"""Regenerate (or check) the checked-in machines: ``statemachine/<machine>.asl.json`` for the
deploy, teardown and restore machines, and the deploy and teardown diagrams in docs/deploy.md.

``python -m reslab.machines`` rewrites them; ``python -m reslab.machines --check`` exits 1 when
any is stale (tests/deploy/test_asl.py runs the same check).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from reslab import REPO_ROOT
from reslab.machines import asl, deploy, restore

DEPLOY_DOC = REPO_ROOT / "docs" / "deploy.md"
#: The machines diagrammed in docs/deploy.md.
DIAGRAMMED = ("deploy", "teardown")
BUILDERS: Mapping[str, Callable[[], dict[str, Any]]] = {
    "deploy": deploy.deploy_definition,
    "teardown": deploy.teardown_definition,
    "restore": restore.definition,
}


def generated() -> dict[str, dict[str, Any]]:
    return {machine: build() for machine, build in BUILDERS.items()}


def _documented(doc: str, definitions: Mapping[str, Mapping[str, Any]]) -> str:
    return asl.with_diagram(doc, {m: definitions[m] for m in DIAGRAMMED})


def stale_files() -> list[Path]:
    """Generated files whose content differs from what :func:`generated` gives now."""
    definitions = generated()
    stale = [
        path
        for machine, definition in definitions.items()
        if not (path := asl.definition_path(machine)).exists()
        or path.read_text(encoding="utf-8") != asl.dumps(definition)
    ]
    doc = DEPLOY_DOC.read_text(encoding="utf-8")
    if _documented(doc, definitions) != doc:
        stale.append(DEPLOY_DOC)
    return stale


def write_all() -> None:
    definitions = generated()
    asl.STATEMACHINE_DIR.mkdir(exist_ok=True)
    for machine, definition in definitions.items():
        asl.definition_path(machine).write_text(asl.dumps(definition), encoding="utf-8")
    doc = DEPLOY_DOC.read_text(encoding="utf-8")
    DEPLOY_DOC.write_text(_documented(doc, definitions), encoding="utf-8")


def main(argv: list[str]) -> int:
    if "--check" in argv:
        stale = stale_files()
        for path in stale:
            print(f"stale: {path.relative_to(REPO_ROOT)} (run python -m reslab.machines)")
        return 1 if stale else 0
    write_all()
    return 0
