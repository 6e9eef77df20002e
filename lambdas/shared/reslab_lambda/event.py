"""The deployment event: one table of keys, one validator, defaults filled in.

``validate_event(raw) -> dict`` returns the normalised event or raises ``InvalidEvent`` whose
message starts with the offending key (``region_name: 'us-east-9' is not an AWS region``).
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from reslab_lambda.errors import InvalidEvent
from reslab_lambda.keys import Check, Key, unalias
from reslab_lambda.regions import AWS_REGIONS
from reslab_lambda.stacks import DEFAULT_ENGINE, default_stack_prefix

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
ENGINES = ("postgres", "mysql")
#: Punctuation AWS accepts in a tag value besides letters, numbers and spaces (\p{L}\p{Z}\p{N}).
TAG_PUNCTUATION = "_.:/=+-@"
_BUCKET = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_LIKE = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_STACK_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,63}$")
_URL = re.compile(r"^https?://\S+$")
MAX_TAG_VALUE = 256
DEFAULT_POLL_SECONDS = 30
#: The Wait between status checks doubles from poll_seconds up to this many times poll_seconds.
DEFAULT_POLL_CAP_FACTOR = 4


def _region(value: str, _event: Mapping[str, Any]) -> str | None:
    return None if value in AWS_REGIONS else f"{value!r} is not an AWS region"


def _secondary(value: str, event: Mapping[str, Any]) -> str | None:
    if value == event.get("region_name"):
        return f"{value!r} must differ from region_name"
    return _region(value, event)


def _tag_char(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] in "LNZ" or char in TAG_PUNCTUATION


def _tag_value(value: str, _event: Mapping[str, Any]) -> str | None:
    if not value.strip():
        return "must not be empty"
    if len(value) > MAX_TAG_VALUE:
        return f"is {len(value)} characters long; AWS tag values allow at most {MAX_TAG_VALUE}"
    bad = sorted({c for c in value if not _tag_char(c)})
    if bad:
        return f"{value!r} has characters AWS tags refuse: {''.join(bad)!r}"
    return None


def _bucket(value: str, _event: Mapping[str, Any]) -> str | None:
    if _BUCKET.match(value) and not _IP_LIKE.match(value):
        return None
    return f"{value!r} is not a valid S3 bucket name"


def _prefix(value: str, _event: Mapping[str, Any]) -> str | None:
    if value.startswith("/"):
        return f"{value!r} must not start with '/'"
    if value and not value.endswith("/"):
        return f"{value!r} must be empty or end with '/'"
    return None


def _one_of(choices: tuple[str, ...]) -> Check:
    def check(value: str, _event: Mapping[str, Any]) -> str | None:
        return None if value in choices else f"{value!r} is not one of {', '.join(choices)}"

    return check


def _url_or_empty(value: str, _event: Mapping[str, Any]) -> str | None:
    return None if not value or _URL.match(value) else f"{value!r} is not an http(s) URL"


def _stack_prefix(value: str, _event: Mapping[str, Any]) -> str | None:
    ok = _STACK_PREFIX.match(value)
    return None if ok else f"{value!r} must be a letter then up to 63 letters, digits or '-'"


def _seconds(value: int, _event: Mapping[str, Any]) -> str | None:
    return None if 1 <= value <= 3600 else f"{value} is not between 1 and 3600"


def _dms(value: bool, event: Mapping[str, Any]) -> str | None:
    """``dms: true`` needs what the dms stack needs (AWS DMS takes no change data capture from
    a PostgreSQL read replica: docs/dms.md)."""
    if not value:
        return None
    if not event.get("secondary_region_name"):
        return "needs secondary_region_name (the DMS target lives in the secondary region)"
    engine = event.get("engine") or DEFAULT_ENGINE
    if engine != "mysql":
        return (
            f"needs engine mysql, not {engine} "
            "(AWS DMS takes no change data capture from a PostgreSQL read replica)"
        )
    return None


def _poll_max(value: int, event: Mapping[str, Any]) -> str | None:
    low = event.get("poll_seconds", DEFAULT_POLL_SECONDS)
    if isinstance(low, int) and value < low:
        return f"{value} is less than poll_seconds ({low})"
    return _seconds(value, event)


#: The documented event (builders guide) followed by the optional extras of the design contract.
EVENT_KEYS: tuple[Key, ...] = (
    Key("log_level", str, required=True, check=_one_of(LOG_LEVELS)),
    Key("region_name", str, required=True, check=_region),
    Key("secondary_region_name", str, check=_secondary),
    Key("workshop", str, required=True, check=_tag_value),
    Key("cfn_region", str, required=True, check=_region),
    Key("cfn_bucket", str, required=True, check=_bucket),
    Key("folder", str, required=True, check=_prefix),
    Key("boot_bucket", str, required=True, check=_bucket),
    Key("boot_prefix", str, required=True, check=_prefix),
    Key("boot_object", str, required=True),
    Key("websiteimage", str, required=True, check=_url_or_empty),
    Key("stack_prefix", str, check=_stack_prefix),
    Key("engine", str, check=_one_of(ENGINES)),
    Key("poll_seconds", int, default=DEFAULT_POLL_SECONDS, check=_seconds),
    Key("poll_max_seconds", int, check=_poll_max),
    Key("skip_backup_check", bool, default=False),
    # Opt-in: the secondary_vpc and dms stacks (secondary region, engine mysql).
    Key("dms", bool, default=False, check=_dms),
)
KEYS_BY_NAME = {k.name: k for k in EVENT_KEYS}


def event_problems(raw: Any) -> list[str]:
    """Every problem with ``raw``, each ``"<key>: <what is wrong>"``; empty when valid."""
    if not isinstance(raw, Mapping):
        return [f"event: must be a JSON object, not {type(raw).__name__}"]
    raw, problems = unalias(raw, EVENT_KEYS)
    problems += [f"{name}: unknown key" for name in sorted(set(raw) - set(KEYS_BY_NAME))]
    for key in EVENT_KEYS:
        if key.name not in raw:
            if key.required:
                problems.append(f"{key.name}: missing")
            continue
        value = raw[key.name]
        if not key.accepts(value):
            problems.append(f"{key.name}: must be {key.type_name}, got {value!r}")
            continue
        problem = key.check(value, raw) if key.check else None
        if problem:
            problems.append(f"{key.name}: {problem}")
    return problems


#: Set by the installer stack on the validate_event Lambda: the only stack prefix its roles may
#: manage (its IAM policies are scoped to ``stack/<prefix>*``).
INSTALLED_PREFIX_ENV = "RESLAB_STACK_PREFIX"


def check_installed_prefix(event: Mapping[str, Any]) -> None:
    """``InvalidEvent`` when this install's roles could not manage the event's stacks (on AWS the
    first CreateStack would fail with AccessDenied, after the machine had started)."""
    allowed = os.environ.get(INSTALLED_PREFIX_ENV)
    if allowed and event["stack_prefix"] != allowed:
        raise InvalidEvent(
            f"stack_prefix: this install manages only stacks named {allowed}*, not "
            f"{event['stack_prefix']!r}: use stack_prefix {allowed!r} or install again with "
            f"StackPrefix={event['stack_prefix']}"
        )


def validate_event(raw: Any) -> dict[str, Any]:
    """The normalised event (defaults filled); raises ``InvalidEvent`` naming the first bad key."""
    problems = event_problems(raw)
    if problems:
        raise InvalidEvent("; ".join(problems))
    event, _ = unalias(raw, EVENT_KEYS)
    for key in EVENT_KEYS:
        if key.default is not None:
            event.setdefault(key.name, key.default)
    event.setdefault("stack_prefix", default_stack_prefix())
    event.setdefault("poll_max_seconds", event["poll_seconds"] * DEFAULT_POLL_CAP_FACTOR)
    return event
