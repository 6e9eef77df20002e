"""The deployment event: one table of keys, one validator, defaults filled in.

``validate_event(raw) -> dict`` returns the normalised event or raises ``InvalidEvent`` whose
message starts with the offending key (``region_name: 'us-east-9' is not an AWS region``).
"""

from __future__ import annotations

import difflib
import os
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from reslab_lambda.errors import InvalidEvent
from reslab_lambda.keys import Constraint, Key, shown, unalias
from reslab_lambda.regions import AWS_REGIONS
from reslab_lambda.stacks import DEFAULT_ENGINE, default_stack_prefix

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
ENGINES = ("postgres", "mysql")
#: The web app's modes (web stack parameter WebAppMode, the app's WEBAPP_MODE).
WEBAPP_MODES = ("fragile", "resilient")
#: Punctuation AWS accepts in a tag value besides letters, numbers and spaces (\p{L}\p{Z}\p{N}).
TAG_PUNCTUATION = "_.:/=+-@"
#: The bootstrap script's object name under boot_prefix when the event leaves boot_object empty
#: (the builders guide does): what ``reslab install`` uploads and the instances fetch.
DEFAULT_BOOT_OBJECT = "bootstrap.sh"
#: The web-app bundle, next to the bootstrap under boot_prefix (bootstrap/bootstrap.sh reads it).
WEBAPP_OBJECT = "webapp.tar.gz"
_IP_LIKE = re.compile(r"\d+\.\d+\.\d+\.\d+")
MAX_TAG_VALUE = 256
DEFAULT_POLL_SECONDS = 30
#: The Wait between status checks doubles from poll_seconds up to this many times poll_seconds.
DEFAULT_POLL_CAP_FACTOR = 4
#: How long a stack waits for its completion event before the machine checks it itself (the
#: fallback for a lost event: ``reslab_lambda.handoff``).
DEFAULT_AWAIT_SECONDS = 600

# The template parameters' constraints (one table: ``python -m reslab.parameters`` writes them
# into cloudformation/*.yaml, the installer template takes them from here).
#: A tag value: no ASCII control character nor punctuation AWS tags refuse (the Unicode classes
#: \p{L}\p{Z}\p{N} are checked by the validator; Python's re has no \p).
WORKSHOP = Constraint(
    pattern=r"""[^\x00-\x1f\x7f!"#$%&'()*,;<>?\[\\\]^`{|}~]+""",
    min_length=1,
    max_length=MAX_TAG_VALUE,
    meaning="letters, digits, spaces and _ . : / = + - @ only",
)
BUCKET = Constraint(
    pattern=r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]",
    min_length=3,
    max_length=63,
    meaning="a valid S3 bucket name (3-63 of a-z 0-9 . -)",
)
#: A key prefix: empty or path segments each ending in '/' (no '*': prefixes end up in IAM ARNs).
PREFIX = Constraint(
    pattern=r"([A-Za-z0-9._-]+/)*",
    max_length=512,
    meaning="empty or segments of A-Z a-z 0-9 . _ - each ending with '/' (no leading '/')",
)
BOOT_OBJECT = Constraint(
    pattern=r"[A-Za-z0-9._-]+",
    min_length=1,
    max_length=255,
    meaning="an object name of A-Z a-z 0-9 . _ - (no '/')",
)
#: Embedded in the instances' user data between single quotes: no quote, space or backslash.
WEBSITE_IMAGE = Constraint(
    pattern=r"""(https?://[^'"\s\\]+)?""",
    max_length=2048,
    meaning="empty or an http(s) URL without quotes, spaces or backslashes",
)
#: Stack names <prefix><Suffix>; the lab's bucket names start with the prefix in lower case.
STACK_PREFIX = Constraint(
    pattern=r"[A-Za-z][A-Za-z0-9-]{0,39}",
    min_length=1,
    max_length=40,
    meaning="a letter then up to 39 letters, digits or '-'",
)
#: Not template parameters, but bounded so that no check sees (or prints) a huge value.
REGION = Constraint(min_length=1, max_length=32)


def _region(value: str, _event: Mapping[str, Any]) -> str | None:
    return None if value in AWS_REGIONS else f"{shown(value)} is not an AWS region"


def _secondary(value: str, event: Mapping[str, Any]) -> str | None:
    if value == event.get("region_name"):
        return f"{shown(value)} must differ from region_name"
    return _region(value, event)


def _tag_char(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] in "LNZ" or char in TAG_PUNCTUATION


def _tag_value(value: str, _event: Mapping[str, Any]) -> str | None:
    if not value.strip():
        return "must not be empty"
    bad = sorted({c for c in value if not _tag_char(c)})
    if bad:
        return f"{shown(value)} has characters AWS tags refuse: {''.join(bad)!r}"
    return None


def _bucket(value: str, _event: Mapping[str, Any]) -> str | None:
    if value.startswith("xn--") or ".." in value or _IP_LIKE.fullmatch(value):
        return f"{shown(value)} is not a valid S3 bucket name"
    return None


def _prefix(value: str, _event: Mapping[str, Any]) -> str | None:
    if value.startswith("/"):
        return f"{shown(value)} must not start with '/'"
    if value and not value.endswith("/"):
        return f"{shown(value)} must be empty or end with '/'"
    return None


def _boot_object(value: str, _event: Mapping[str, Any]) -> str | None:
    if value == WEBAPP_OBJECT:
        return f"{value!r} is the web-app bundle's name; the bootstrap would overwrite it"
    return None


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
    Key("log_level", str, required=True, constraint=Constraint(allowed=LOG_LEVELS)),
    Key("region_name", str, required=True, check=_region, constraint=REGION),
    Key("secondary_region_name", str, check=_secondary, constraint=REGION),
    Key("workshop", str, required=True, check=_tag_value, constraint=WORKSHOP),
    Key("cfn_region", str, required=True, check=_region, constraint=REGION),
    Key("cfn_bucket", str, required=True, check=_bucket, constraint=BUCKET),
    Key("folder", str, required=True, check=_prefix, constraint=PREFIX),
    Key("boot_bucket", str, required=True, check=_bucket, constraint=BUCKET),
    Key("boot_prefix", str, required=True, check=_prefix, constraint=PREFIX),
    # Required (builders guide) but may be empty: empty means DEFAULT_BOOT_OBJECT.
    Key(
        "boot_object",
        str,
        required=True,
        default=DEFAULT_BOOT_OBJECT,
        check=_boot_object,
        constraint=BOOT_OBJECT,
    ),
    Key("websiteimage", str, required=True, constraint=WEBSITE_IMAGE),
    Key("stack_prefix", str, constraint=STACK_PREFIX),
    Key("engine", str, constraint=Constraint(allowed=ENGINES)),
    Key("webapp_mode", str, default="fragile", constraint=Constraint(allowed=WEBAPP_MODES)),
    Key("poll_seconds", int, default=DEFAULT_POLL_SECONDS, check=_seconds),
    Key("poll_max_seconds", int, check=_poll_max),
    Key("await_seconds", int, default=DEFAULT_AWAIT_SECONDS, check=_seconds),
    Key("skip_backup_check", bool, default=False),
    # Opt-in: the secondary_vpc and dms stacks (secondary region, engine mysql).
    Key("dms", bool, default=False, check=_dms),
)
KEYS_BY_NAME = {k.name: k for k in EVENT_KEYS}


def _empty_means_default(key: Key, value: Any) -> bool:
    """A string key with a default given as "" takes the default (``boot_object: ""``)."""
    return value == "" and isinstance(key.default, str)


def _unknown(name: str) -> str:
    """``"<name>: unknown key"``, with the closest key name when one is close."""
    close = difflib.get_close_matches(name, list(KEYS_BY_NAME), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else ""
    return f"{name[:60]}: unknown key{hint}"


def _value_problem(key: Key, value: Any, event: Mapping[str, Any]) -> str | None:
    """Lengths first (a 5 MB value is refused before anything looks at it), then the key's own
    check (friendlier words), then the template constraint (the authority)."""
    constraint = key.constraint
    problem = constraint.length_problem(value) if constraint else None
    problem = problem or (key.check(value, event) if key.check else None)
    return problem or (constraint.problem(value) if constraint else None)


def event_problems(raw: Any) -> list[str]:
    """Every problem with ``raw``, each ``"<key>: <what is wrong>"``; empty when valid."""
    if not isinstance(raw, Mapping):
        return [f"event: must be a JSON object, not {type(raw).__name__}"]
    raw, problems = unalias(raw, EVENT_KEYS)
    problems += [_unknown(str(name)) for name in sorted(set(map(str, raw)) - set(KEYS_BY_NAME))]
    for key in EVENT_KEYS:
        if key.name not in raw:
            if key.required:
                problems.append(f"{key.name}: missing")
            continue
        value = raw[key.name]
        if not key.accepts(value):
            problems.append(f"{key.name}: must be {key.type_name}, got {type(value).__name__}")
            continue
        if _empty_means_default(key, value):
            continue
        problem = _value_problem(key, value, raw)
        if problem:
            problems.append(f"{key.name}: {problem}")
    return problems


def boot_keys(event: Mapping[str, Any]) -> tuple[str, str]:
    """The keys in ``boot_bucket`` of the bootstrap script and the web-app bundle: what
    ``reslab install`` uploads, the web stack's user data fetches
    (``${BootPrefix}${BootObject}``) and bootstrap/bootstrap.sh downloads
    (``${BOOT_PREFIX}webapp.tar.gz``)."""
    prefix = event["boot_prefix"]
    return f"{prefix}{event.get('boot_object') or DEFAULT_BOOT_OBJECT}", f"{prefix}{WEBAPP_OBJECT}"


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


#: Set by the installer stack on the validate_event Lambda: the region where the install put
#: the code of the functions the dms stack creates ("" when it has none).
DMS_CODE_REGION_ENV = "RESLAB_DMS_CODE_REGION"


def check_installed_dms(event: Mapping[str, Any]) -> None:
    """``InvalidEvent`` for ``dms: true`` when this install has no DMS target preparation code
    in the event's secondary region (Lambda reads code only from its own region: the dms stack
    would fail to create its function, after every other stack was created)."""
    if not os.environ.get(INSTALLED_PREFIX_ENV) or event.get("dms") is not True:
        return
    installed = os.environ.get(DMS_CODE_REGION_ENV, "")
    wanted = event["secondary_region_name"]
    if installed != wanted:
        where = f"it has it in {installed}" if installed else "it has none"
        raise InvalidEvent(
            f"dms: this install has no DMS target preparation code in {wanted} ({where}): "
            "install again with this event (reslab install, or reslab deploy, which installs "
            "first), which uploads it there"
        )


def validate_event(raw: Any) -> dict[str, Any]:
    """The normalised event (defaults filled); raises ``InvalidEvent`` naming the first bad key."""
    problems = event_problems(raw)
    if problems:
        raise InvalidEvent("; ".join(problems))
    event, _ = unalias(raw, EVENT_KEYS)
    for key in EVENT_KEYS:
        if key.default is not None and (
            key.name not in event or _empty_means_default(key, event[key.name])
        ):
            event[key.name] = key.default
    event.setdefault("stack_prefix", default_stack_prefix())
    event.setdefault("poll_max_seconds", event["poll_seconds"] * DEFAULT_POLL_CAP_FACTOR)
    return event
