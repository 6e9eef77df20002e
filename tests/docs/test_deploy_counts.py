"""docs/deploy.md counts the machinery it installs: each count matches the table it counts."""

from __future__ import annotations

import re
from collections import Counter

from reslab import REPO_ROOT
from reslab.functions import FUNCTIONS
from reslab.machines import MACHINES
from reslab_lambda.stacks import stack_table

PAGE = " ".join((REPO_ROOT / "docs" / "deploy.md").read_text(encoding="utf-8").split())
WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
]


def count(pattern: str) -> int:
    """The number word (or digits) before ``pattern``, e.g. ``eleven Lambdas``."""
    found = re.search(rf"\b(\w+) {pattern}", PAGE)
    assert found, f"docs/deploy.md no longer says how many {pattern}"
    word = found.group(1).lower()
    return int(word) if word.isdigit() else WORDS.index(word)


def test_lambda_machine_and_stack_counts() -> None:
    per_machine = Counter(MACHINES[f.machine] for f in FUNCTIONS)
    assert count("Lambdas:") == len(FUNCTIONS)
    assert count("for the deploy and teardown machines") == per_machine["deploy"]
    assert count("for the restore-integrity machine") == per_machine["restore"]
    assert count("state machines;") == len(MACHINES)
    assert count("CloudFormation stacks") == len(stack_table())
    assert count("ASL files") == len(list((REPO_ROOT / "statemachine").glob("*.asl.json")))
