"""The lab's CloudFormation templates and stack table (``cloudformation/stacks.json``).

Loading needs only PyYAML (the CloudFormation short tags ``!Ref``, ``!Sub``, ``!GetAtt`` ... are
turned into their long ``Fn::`` form), so the deploy code can use this module at run time.
``lint()`` uses cfn-lint, a development dependency, imported only when called.

>>> [spec.key for spec in load_stack_table()]
['vpc', 'storage', 'database', 'replica', 'web']
>>> sorted(template_outputs("storage"))
['ReportBucketArn', 'ReportBucketName', 'WebsiteBucketName']
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from reslab import REPO_ROOT
from reslab.errors import InvalidEvent, ReslabError

TEMPLATE_DIR = REPO_ROOT / "cloudformation"
STACK_TABLE = TEMPLATE_DIR / "stacks.json"
REGION_EVENT_KEYS = {"primary": "region_name", "secondary": "secondary_region_name"}

# Short tag -> long form. Every intrinsic function CloudFormation accepts in YAML short form.
_SHORT_TAGS = (
    "Base64",
    "Cidr",
    "FindInMap",
    "GetAZs",
    "ImportValue",
    "Join",
    "Select",
    "Split",
    "Sub",
    "Transform",
    "And",
    "Equals",
    "If",
    "Not",
    "Or",
    "Condition",
    "ToJsonString",
    "Length",
)


class TemplateError(ReslabError):
    """A template or the stack table is missing, malformed or inconsistent."""


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation's short-form intrinsic function tags."""


def _construct(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]


def _long_form(name: str) -> Any:
    key = name if name in ("Ref", "Condition") else f"Fn::{name}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return {key: _construct(node, loader)}

    return construct


def _get_att(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    value = _construct(node, loader)
    if isinstance(value, str):
        # "Resource.Attr.Sub" -> ["Resource", "Attr.Sub"] (attribute names may contain dots)
        value = value.split(".", 1)
    return {"Fn::GetAtt": value}


_CfnLoader.add_constructor("!Ref", _long_form("Ref"))
_CfnLoader.add_constructor("!GetAtt", _get_att)
for _name in _SHORT_TAGS:
    _CfnLoader.add_constructor(f"!{_name}", _long_form(_name))


@dataclass(frozen=True)
class StackSpec:
    """One row of the stack table."""

    key: str
    suffix: str
    template: str
    region: str  # "primary" | "secondary"
    depends_on: tuple[str, ...]
    optional: bool
    event_parameters: Mapping[str, str]
    requires_event_key: str | None = None
    default_prefix: str = "Resiliency"

    @property
    def template_path(self) -> Path:
        return TEMPLATE_DIR / self.template

    def stack_name(self, event: Mapping[str, Any] | None = None) -> str:
        """``<stack_prefix><suffix>``; the prefix comes from the event, else the table default."""
        prefix = (event or {}).get("stack_prefix") or self.default_prefix
        return f"{prefix}{self.suffix}"

    def region_name(self, event: Mapping[str, Any]) -> str | None:
        """The region this stack goes to for ``event`` (None: secondary region not given)."""
        return event.get(REGION_EVENT_KEYS[self.region]) or None

    def enabled(self, event: Mapping[str, Any]) -> bool:
        """False when the stack is optional and the event lacks the key it needs."""
        needed = self.requires_event_key
        return not (self.optional and needed and not event.get(needed))


def _read_table(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise TemplateError(f"cannot read stack table {path}: {exc}") from exc


def load_stack_table(path: Path | None = None) -> list[StackSpec]:
    """The stacks in deployment order; checks that every dependency comes earlier."""
    table = _read_table(path or STACK_TABLE)
    specs: list[StackSpec] = []
    seen: set[str] = set()
    for row in table["stacks"]:
        spec = StackSpec(
            key=row["key"],
            suffix=row["suffix"],
            template=row["template"],
            region=row["region"],
            depends_on=tuple(row.get("depends_on", ())),
            optional=bool(row.get("optional", False)),
            event_parameters=dict(row.get("event_parameters", {})),
            requires_event_key=row.get("requires_event_key"),
            default_prefix=str(table.get("default_stack_prefix", "Resiliency")),
        )
        if spec.region not in REGION_EVENT_KEYS:
            raise TemplateError(f"stack {spec.key}: region must be primary or secondary")
        missing = [dep for dep in spec.depends_on if dep not in seen]
        if missing:
            raise TemplateError(f"stack {spec.key} depends on {missing}, not listed before it")
        if spec.key in seen:
            raise TemplateError(f"stack {spec.key} listed twice")
        seen.add(spec.key)
        specs.append(spec)
    return specs


def stack_spec(key: str, path: Path | None = None) -> StackSpec:
    for spec in load_stack_table(path):
        if spec.key == key:
            return spec
    raise TemplateError(f"no stack {key!r} in the stack table")


def template_path(name: str | Path) -> Path:
    """``"vpc"``, ``"vpc.yaml"`` or a path -> the template file."""
    path = Path(name)
    if path.suffix not in (".yaml", ".yml", ".json"):
        path = path.with_suffix(".yaml")
    if not path.is_absolute() and not path.exists():
        path = TEMPLATE_DIR / path.name
    if not path.is_file():
        raise TemplateError(f"no template {name!s} (looked for {path})")
    return path


def loads_template(text: str) -> dict[str, Any]:
    """Parse template text (YAML with short tags, or JSON) into the long-form dict."""
    data = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 (SafeLoader subclass)
    if not isinstance(data, dict) or "Resources" not in data:
        raise TemplateError("not a CloudFormation template (no Resources)")
    return data


def load_template(name: str | Path) -> dict[str, Any]:
    return loads_template(template_path(name).read_text())


def template_body(name: str | Path) -> str:
    """The template as JSON text: long-form functions only, so every parser reads it the same."""
    return json.dumps(load_template(name), indent=1)


def template_parameters(name: str | Path) -> dict[str, dict[str, Any]]:
    """Parameter name -> its definition (Type, Default, ...)."""
    return dict(load_template(name).get("Parameters", {}))


def template_outputs(name: str | Path) -> dict[str, dict[str, Any]]:
    """Output name -> its definition (Value, Export, ...)."""
    return dict(load_template(name).get("Outputs", {}))


def resolve_parameters(
    spec: StackSpec,
    event: Mapping[str, Any],
    stack_outputs: Mapping[str, Mapping[str, str]],
) -> dict[str, str]:
    """Parameter values for ``spec``'s stack: event keys, then outputs of its dependencies.

    ``stack_outputs`` maps a stack key to that stack's outputs. Parameters found in neither keep
    their template default; a parameter without default that nothing fills is an InvalidEvent.
    """
    values: dict[str, str] = {}
    for dep in spec.depends_on:
        values.update({k: str(v) for k, v in stack_outputs.get(dep, {}).items()})
    parameters = template_parameters(spec.template)
    resolved: dict[str, str] = {}
    for name, definition in parameters.items():
        event_key = spec.event_parameters.get(name)
        event_value = event.get(event_key) if event_key else None
        if event_value not in (None, ""):
            resolved[name] = str(event_value)
        elif name in values:
            resolved[name] = values[name]
        elif "Default" not in definition:
            source = f"event key {event_key!r}" if event_key else f"outputs of {spec.depends_on}"
            raise InvalidEvent(f"stack {spec.key}: parameter {name} needs {source}")
    return resolved


@dataclass(frozen=True)
class Finding:
    """One cfn-lint match."""

    path: str
    line: int
    rule: str
    severity: str  # error | warning | informational
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule} [{self.severity}] {self.message}"


def lint(paths: Iterable[str | Path]) -> list[Finding]:
    """cfn-lint findings (errors, warnings and informational) for the given templates."""
    try:
        from cfnlint.api import lint_file
    except ImportError as exc:  # pragma: no cover - dev dependency missing
        raise TemplateError("cfn-lint is not installed (pip install -e '.[dev]')") from exc

    findings: list[Finding] = []
    for name in paths:
        path = template_path(name)
        for match in lint_file(path):
            findings.append(
                Finding(
                    path=str(path),
                    line=int(match.linenumber),
                    rule=str(match.rule.id),
                    severity=str(match.rule.severity).lower(),
                    message=str(match.message),
                )
            )
    return findings
