"""The one record every benchmark yields; ``results.json`` is a list of these."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class BenchResult:
    """A measured value next to the baseline it was measured against in the same run.

    ``ratio`` is ``value / baseline_value`` (so < 1 is better for times, > 1 for rates).
    """

    name: str
    value: float
    unit: str
    baseline: str
    baseline_value: float

    @property
    def ratio(self) -> float:
        return self.value / self.baseline_value if self.baseline_value else float("nan")

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = asdict(self)
        data["ratio"] = round(self.ratio, 4)
        return data
