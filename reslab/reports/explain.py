"""Why a check failed, or did not run, in one sentence an auditor reads.

The sentence is the check's catalogue row (``failure_means``) filled in with what the check
measured and expected: ``data.row_count[hits]`` measured 0, expected 705 reads "The restored
copy holds 0 rows of `hits`, the source 705."
"""

from __future__ import annotations

import re
from typing import Any

from reslab.checks.catalogue import spec_for
from reslab.checks.model import CheckResult

#: ``expected`` values written as a comparison (``>= 5``), and how each reads.
_COMPARISON = re.compile(r"^(>=|<=|==|!=|<|>)\s*(.*)$", re.DOTALL)
_WORDS = {
    ">=": "at least ",
    "<=": "at most ",
    ">": "more than ",
    "<": "less than ",
    "==": "",
    "!=": "anything but ",
}


def explain(check: CheckResult) -> str:
    """The sentence for a failed or skipped check ("" for a pass)."""
    if check.passed:
        return ""
    if check.skipped:
        return f"Not run: {check.details}." if check.details else "Not run."
    spec = spec_for(check.name)
    if spec is None:  # a report from a newer version with a check this one does not know
        return _sentence(check.details or "failed")
    subject = check.name[len(spec.id) + 1 : -1] if check.name != spec.id else ""
    details = check.details or ""
    if check.measured is None and details and "{measured}" in spec.failure_means:
        return _sentence(f"`{subject}`: {details}" if subject else details)
    text = spec.failure_means.format(
        measured=say(check.measured),
        expected=_say_expected(check.expected),
        bound=_say_bound(check.expected),
        subject=subject,
        details=details,
    )
    if details and "{details}" not in spec.failure_means:
        text += f" ({details})"
    return _sentence(text)


def say(value: Any) -> str:
    """A value as words: numbers with thousands separators, ``None`` as "no"."""
    if value is None:
        return "no"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if isinstance(value, list | tuple):
        return ", ".join(say(v) for v in value) or "none"
    text = str(value)
    return say(int(text)) if re.fullmatch(r"-?\d{4,}", text) else text


def _say_expected(value: Any) -> str:
    match = _COMPARISON.match(value) if isinstance(value, str) else None
    if match is None:
        return "none" if value is None else say(value)
    operator, bound = match.groups()
    return _WORDS[operator] + say(bound)


def _say_bound(value: Any) -> str:
    match = _COMPARISON.match(value) if isinstance(value, str) else None
    return say(match.group(2)) if match else say(value)


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
