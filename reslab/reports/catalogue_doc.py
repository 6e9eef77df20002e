"""The check catalogue as the generated table of docs/checks.md.

``python -m reslab.reports.catalogue_doc`` rewrites the block between the markers;
``--check`` exits 1 when it is stale (a test runs the same comparison).
"""

from __future__ import annotations

import sys
from pathlib import Path

from reslab import REPO_ROOT, docblocks
from reslab.checks.catalogue import ALL_ENGINES, APPLIES, CATALOGUE, ENGINES, CheckSpec

CHECKS_DOC = REPO_ROOT / "docs" / "checks.md"
COMMAND = "python -m reslab.reports.catalogue_doc"
BEGIN = docblocks.begin_marker(COMMAND)
END = docblocks.END
_COLUMNS = (
    "check",
    "category",
    "engines",
    "applies",
    "what a pass proves",
    "passes when",
    "a failure reads",
    "SKIP when",
)


def catalogue_block() -> str:
    """The markers around the catalogue table and the legend of its ``applies`` column."""
    lines = [BEGIN, _row(_COLUMNS), _row(["---"] * len(_COLUMNS))]
    lines += [_row(_cells(spec)) for spec in CATALOGUE]
    lines += ["", "*applies*: " + "; ".join(f"`{k}`: {v}" for k, v in APPLIES.items()) + "."]
    lines += ["", _PLACEHOLDERS, END]
    return "\n".join(lines)


_PLACEHOLDERS = (
    "*a failure reads*: the sentence the HTML report and `reslab db-diff` print for a failed"
    " check, filled in with `{measured}`, `{expected}` (`>= 5` reads *at least 5*), `{bound}`"
    " (the expected value alone), `{subject}` (the table, column or assertion) and"
    " `{details}`; details the sentence does not quote follow it in brackets."
)


def _cells(spec: CheckSpec) -> list[str]:
    engines = "all" if spec.engines == ALL_ENGINES else ", ".join(ENGINES[e] for e in spec.engines)
    return [
        f"`{spec.pattern}`",
        spec.category,
        engines,
        spec.applies,
        spec.description,
        spec.passes_when,
        spec.failure_means,
        spec.skipped_when or "never",
    ]


def _row(cells: list[str] | tuple[str, ...]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def with_catalogue(doc: str) -> str:
    """``doc`` with the text between the generated-block markers replaced."""
    return docblocks.replace_block(doc, BEGIN, catalogue_block())


def is_stale(path: Path = CHECKS_DOC) -> bool:
    return docblocks.is_stale(path, with_catalogue)


def main(argv: list[str]) -> int:
    return docblocks.check_or_write(CHECKS_DOC, with_catalogue, COMMAND, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
