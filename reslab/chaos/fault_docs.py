"""The list of faults in docs/lab-guide.md, generated from the fault table (:data:`FAULTS`).

``python -m reslab.chaos.fault_docs`` rewrites the block between the markers;
``python -m reslab.chaos.fault_docs --check`` exits 1 when it is stale (a test runs the check).
"""

from __future__ import annotations

import sys
import textwrap
from typing import Any

from reslab import REPO_ROOT, docblocks
from reslab.chaos.faults import FAULTS, Fault, Flag
from reslab.chaos.fis_templates import Settings

LAB_GUIDE = REPO_ROOT / "docs" / "lab-guide.md"
COMMAND = "python -m reslab.chaos.fault_docs"
BEGIN = docblocks.begin_marker(COMMAND)
END = docblocks.END
WIDTH = 100
#: Only the action ids are read from the FIS templates: these settings change none of them.
_FIS_SETTINGS = Settings(region="us-east-2", workshop="WORKSHOP")


def _value(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _wrap(text: str, indent: str = "") -> list[str]:
    return textwrap.wrap(
        text,
        width=WIDTH,
        initial_indent=indent,
        subsequent_indent=" " * len(indent),
        break_long_words=False,
        break_on_hyphens=False,
    )


def _option(flag: Flag) -> str:
    shown = flag.default not in (None, False)
    default = f" (default `{_value(flag.default)}`)" if shown else ""
    return f"`{flag.option}`: {flag.help}{default}"


def _fis_actions(fault: Fault) -> str:
    template = fault.fis_template(_FIS_SETTINGS)
    return ", ".join(f"`{action['actionId']}`" for action in template["actions"].values())


def fault_section(fault: Fault) -> list[str]:
    lines = [f"### `reslab inject {fault.name}`", "", *_wrap(fault.summary), ""]
    lines += _wrap(f"**Target:** {fault.target}", "- ")
    lines += _wrap(f"**Undone:** {fault.undo}", "- ")
    lines.append("- **Options:**")
    for flag in fault.command_flags():
        lines += _wrap(_option(flag), "  - ")
    lines += _wrap(f"**AWS FIS:** `fis-{fault.name}.json`, action {_fis_actions(fault)}", "- ")
    return [*lines, ""]


def block() -> str:
    lines = [BEGIN, ""]
    for fault in FAULTS.values():
        lines += fault_section(fault)
    lines.append(END)
    return "\n".join(lines)


def with_block(doc: str) -> str:
    """``doc`` with the text between the generated-block markers replaced."""
    return docblocks.replace_block(doc, BEGIN, block())


def is_stale() -> bool:
    return docblocks.is_stale(LAB_GUIDE, with_block)


def main(argv: list[str]) -> int:
    return docblocks.check_or_write(LAB_GUIDE, with_block, COMMAND, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
