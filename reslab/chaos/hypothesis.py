"""Steady-state hypotheses: ``availability>=99``, ``p99_ms<=500``, ``downtime_s<=5``, ...

Several can be given, separated by commas or ``and``; each compares one summary metric.

As in chaostoolkit, the steady state is checked *before* the injection too
(:func:`before_injection`): every baseline request must succeed, and the clauses that can be
judged on a baseline (not ``time_to_recover_s``) must hold on it. A target that already fails is
refused with :class:`SteadyStateNotMet` naming the status codes seen, unless ``--force``.
"""

from __future__ import annotations

import operator
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from reslab.chaos.errors import InvalidHypothesis

if TYPE_CHECKING:
    from reslab.chaos.probe import Sample

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


BEFORE_INJECTION = frozenset({"availability", "downtime_s", "p50_ms", "p99_ms"})


def outcome_label(sample: Sample) -> str:
    """What one request got: its HTTP status, else the error's class (``URLError``...)."""
    if sample.status is not None:
        return str(sample.status)
    return (sample.error or "no answer").split(":", 1)[0]


def status_counts(samples: Sequence[Sample]) -> dict[str, int]:
    """``{"200": 12, "404": 3}``, most frequent first."""
    return dict(Counter(outcome_label(s) for s in samples).most_common())


def render_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{label} x{n}" for label, n in counts.items()) or "no request"


@dataclass
class SteadyState:
    """The steady-state check of one phase (``before`` the injection, or ``after`` it)."""

    phase: str
    met: bool
    statuses: dict[str, int]
    checks: list[str] = field(default_factory=list)
    forced: bool = False

    def describe(self, url: str) -> str:
        state = "met" if self.met else "not met"
        where = "before injection" if self.phase == "before" else "after the experiment"
        text = f"steady state {state} {where}: {render_counts(self.statuses)} from {url}"
        failing = [c for c in self.checks if "FAILS" in c or "n/a" in c]
        if failing:
            text += f" ({'; '.join(failing)})"
        if self.forced:
            text += "; injected anyway (--force)"
        return text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def before_injection(
    samples: Sequence[Sample], summary: dict[str, Any], clauses: list[Clause] | None
) -> SteadyState:
    """Every baseline request succeeded and the judgeable clauses hold on the baseline."""
    judged = [c for c in clauses or [] if c.metric in BEFORE_INJECTION]
    held, lines = evaluate(judged, summary) if judged else (True, [])
    met = bool(samples) and all(s.ok for s in samples) and held
    return SteadyState("before", met, status_counts(samples), lines)


def after_experiment(samples: Sequence[Sample]) -> SteadyState:
    """The site answers again: the last request of the run succeeded."""
    return SteadyState("after", bool(samples) and samples[-1].ok, status_counts(samples))
