"""IAM's wildcard matching: ``*`` (any run of characters, also none) and ``?`` (one character).

* Actions (``Action``/``NotAction``, ``service:Name``) match case-insensitively.
* ARNs (``Resource``/``NotResource``, ``ArnLike``) match case-sensitively and per segment: the
  five colon-separated fields before the resource part are matched one by one, so ``*`` in the
  region field never swallows the account; the resource part (everything after the fifth colon,
  colons included) is matched as one string. A pattern with fewer fields whose last field ends in
  ``*`` expands past the colons ("If the * wildcard is the last character of a resource ARN
  segment, it can expand to match beyond the colon boundaries": ``arn:aws:s3:::*`` is also written
  ``arn:aws:s3*``). ``*`` alone matches every resource, including the literal ``*`` a request
  carries for an action with no resource-level permission.
* ``StringLike`` values match case-sensitively as one string.
"""

from __future__ import annotations

import functools
import re

ARN_FIELDS = 6  # arn, partition, service, region, account, resource
#: Stand-ins for a literal ``*`` / ``?`` (policy variables ``${*}``, ``${?}`` and substituted
#: values): private-use characters no ARN or action contains.
LITERAL_ASTERISK = "\ue000"
LITERAL_QUESTION = "\ue001"


def plain(text: str) -> str:
    """The text with literal stand-ins turned back into ``*`` and ``?``."""
    return text.replace(LITERAL_ASTERISK, "*").replace(LITERAL_QUESTION, "?")


@functools.lru_cache(maxsize=4096)
def _compile(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        elif char in (LITERAL_ASTERISK, LITERAL_QUESTION):
            parts.append(re.escape(plain(char)))
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), (re.IGNORECASE if ignore_case else 0) | re.DOTALL)


def glob_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """Whole-string match of an IAM wildcard pattern."""
    return _compile(pattern, ignore_case).fullmatch(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    """``s3:Get*`` matches ``s3:GetObject``; ``*`` matches every action; case-insensitive."""
    return glob_match(pattern, action, ignore_case=True)


def arn_matches(pattern: str, arn: str) -> bool:
    """Per-segment ARN match (module docstring)."""
    if pattern == "*":
        return True
    if not arn.startswith("arn:") or not pattern.startswith("arn"):
        return glob_match(pattern, arn)  # non-ARN resources ("*", S3 access-point aliases...)
    wanted = pattern.split(":", ARN_FIELDS - 1)
    actual = arn.split(":", ARN_FIELDS - 1)
    if len(wanted) < len(actual):
        if not wanted[-1].endswith("*"):
            return False
        tail = ":".join(actual[len(wanted) - 1 :])
        actual = actual[: len(wanted) - 1] + [tail]
    if len(wanted) != len(actual):
        return False
    return all(glob_match(w, a) for w, a in zip(wanted, actual, strict=True))
