"""Steady-state hypotheses: ``availability>=99``, ``p99_ms<=500``, ``downtime_s<=5``, ...

Several can be given, separated by commas or ``and``; each compares one summary metric.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reslab.chaos.errors import InvalidHypothesis

METRICS = {
    "availability": "availability",
    "availability_pct": "availability",
    "downtime_s": "downtime_s",
    "time_to_recover_s": "time_to_recover_s",
    "ttr_s": "time_to_recover_s",
    "p50_ms": "p50_ms",
    "p99_ms": "p99_ms",
}
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    ">": operator.gt,
    "<": operator.lt,
}
CLAUSE = re.compile(r"^\s*([a-z_0-9]+)\s*(>=|<=|==|>|<)\s*(-?\d+(?:\.\d+)?)\s*%?\s*$")


@dataclass(frozen=True)
class Clause:
    metric: str
    op: str
    value: float

    def check(self, summary: dict[str, Any]) -> tuple[bool, str]:
        actual = summary.get(self.metric)
        if actual is None:
            return False, f"{self.metric} is n/a (wanted {self.op} {self.value:g})"
        held = OPERATORS[self.op](float(actual), self.value)
        verdict = "holds" if held else "FAILS"
        return held, f"{self.metric} = {float(actual):.3f} {self.op} {self.value:g}: {verdict}"


def parse(text: str) -> list[Clause]:
    clauses = []
    for part in re.split(r",|\band\b", text):
        if not part.strip():
            continue
        match = CLAUSE.match(part.lower())
        if not match or match.group(1) not in METRICS:
            raise InvalidHypothesis(
                f"cannot read {part.strip()!r}: use METRIC OP NUMBER with METRIC one of "
                f"{', '.join(sorted(METRICS))} and OP one of {' '.join(OPERATORS)}"
            )
        clauses.append(Clause(METRICS[match.group(1)], match.group(2), float(match.group(3))))
    if not clauses:
        raise InvalidHypothesis("empty hypothesis")
    return clauses


def evaluate(clauses: list[Clause], summary: dict[str, Any]) -> tuple[bool, list[str]]:
    results = [c.check(summary) for c in clauses]
    return all(ok for ok, _ in results), [line for _, line in results]
