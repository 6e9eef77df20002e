"""Generated blocks inside hand-written docs: ``<!-- BEGIN GENERATED: cmd -->`` ... ``<!-- END
GENERATED -->`` replaced by what a generator renders, and the ``--check`` every generator offers.

    python -m reslab.machines [--check]          # docs/deploy.md diagrams
    python -m reslab.chaos.fault_docs [--check]  # docs/lab-guide.md fault list
    python -m reslab.reports.catalogue_doc [--check]  # docs/checks.md check catalogue
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from reslab import REPO_ROOT

END = "<!-- END GENERATED -->"


def begin_marker(command: str) -> str:
    return f"<!-- BEGIN GENERATED: {command} -->"


def replace_block(doc: str, begin: str, block: str, end: str = END) -> str:
    """``doc`` with the text from ``begin`` to the next ``end`` (markers included) replaced by
    ``block`` (which carries the markers itself)."""
    start = doc.index(begin)
    stop = doc.index(end, start) + len(end)
    return doc[:start] + block + doc[stop:]


def is_stale(path: Path, update: Callable[[str], str]) -> bool:
    doc = path.read_text(encoding="utf-8")
    return update(doc) != doc


def check_or_write(path: Path, update: Callable[[str], str], command: str, argv: list[str]) -> int:
    """``--check``: exit status 1 (and a line naming the file) when ``path`` is stale; else
    rewrite it."""
    if "--check" in argv:
        stale = is_stale(path, update)
        if stale:
            print(f"stale: {path.relative_to(REPO_ROOT)} (run {command})")
        return 1 if stale else 0
    path.write_text(update(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0
