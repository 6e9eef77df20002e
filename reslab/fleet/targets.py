"""The fleet file: one CSV row per participant.

Columns (header row required, order free): ``role_arn`` or ``profile`` (exactly one per row),
``region``, ``secondary_region`` (may be empty: no replica), ``workshop``, and optionally
``stack_prefix``, ``name`` (install name), ``cfn_bucket``, ``boot_bucket``. Lines starting with
``#`` are comments.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from reslab.event import event_problems
from reslab.fleet.errors import InvalidTargets
from reslab_lambda.stacks import default_stack_prefix

REQUIRED = ("region", "secondary_region", "workshop")
OPTIONAL = ("role_arn", "profile", "stack_prefix", "name", "cfn_bucket", "boot_bucket")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]+$")
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


@dataclass(frozen=True)
class Target:
    """One participant's lab."""

    row: int
    region: str
    secondary_region: str
    workshop: str
    role_arn: str = ""
    profile: str = ""
    stack_prefix: str = ""
    name: str = ""
    cfn_bucket: str = ""
    boot_bucket: str = ""

    @property
    def account(self) -> str:
        match = _ROLE_ARN.match(self.role_arn)
        return match.group(1) if match else ""

    @property
    def key(self) -> str:
        """Stable identity in the state file: who, where, which lab (not the row number)."""
        who = self.role_arn or f"profile:{self.profile}"
        raw = "|".join((who, self.region, self.secondary_region, self.workshop, self.stack_prefix))
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        who = self.account or self.profile or "?"
        return f"#{self.row} {who} {self.stack_prefix or default_stack_prefix()}"

    def session_name(self) -> str:
        """sts:AssumeRole RoleSessionName: per target, <= 64 chars of [\\w+=,.@-]."""
        prefix = re.sub(r"[^\w+=,.@-]", "-", self.stack_prefix or self.workshop)[:40]
        return f"reslab-fleet-{self.row}-{prefix}"[:64]


def _row_problems(row: int, values: dict[str, str]) -> list[str]:
    problems = []
    if bool(values.get("role_arn")) == bool(values.get("profile")):
        problems.append("exactly one of role_arn or profile is required")
    if values.get("role_arn") and not _ROLE_ARN.match(values["role_arn"]):
        problems.append(f"role_arn: {values['role_arn']!r} is not an IAM role ARN")
    if values.get("name") and not _NAME.match(values["name"]):
        problems.append(f"name: {values['name']!r} must be lowercase letters, digits, '-'")
    # the event validator owns region / workshop / prefix / bucket rules: one source of truth
    probe = {
        "region_name": values.get("region", ""),
        "workshop": values.get("workshop", ""),
        **(
            {"secondary_region_name": values["secondary_region"]}
            if values.get("secondary_region")
            else {}
        ),
        **({"stack_prefix": values["stack_prefix"]} if values.get("stack_prefix") else {}),
        **{k: values[k] for k in ("cfn_bucket", "boot_bucket") if values.get(k)},
    }
    checked = {
        "region_name",
        "secondary_region_name",
        "workshop",
        "stack_prefix",
        "cfn_bucket",
        "boot_bucket",
    }
    columns = {"region_name": "region", "secondary_region_name": "secondary_region"}
    for problem in event_problems(probe):
        key, _, rest = problem.partition(":")
        if key in checked and key in probe:
            problems.append(f"{columns.get(key, key)}:{rest}")
    return [f"row {row}: {p}" for p in problems]


def parse_targets(text: str, source: str = "targets") -> list[Target]:
    lines = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    reader = csv.DictReader(lines)
    columns = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise InvalidTargets(f"{source}: missing column(s): {', '.join(missing)}")
    unknown = sorted(set(columns) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise InvalidTargets(f"{source}: unknown column(s): {', '.join(unknown)}")
    targets, problems = [], []
    for row, raw in enumerate(reader, start=1):
        values = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
        row_problems = _row_problems(row, values)
        problems.extend(row_problems)
        if not row_problems:
            targets.append(Target(row=row, **{k: values.get(k, "") for k in REQUIRED + OPTIONAL}))
    if not targets and not problems:
        problems.append("no target rows")
    keys = {}
    for target in targets:
        if target.key in keys:
            problems.append(f"row {target.row}: same lab as row {keys[target.key]}")
        keys[target.key] = target.row
    if problems:
        raise InvalidTargets(f"{source}: " + "; ".join(problems))
    return targets


def load_targets(path: Path) -> list[Target]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidTargets(f"{path}: cannot read ({exc.strerror})") from None
    return parse_targets(text, str(path))
