"""The lab's CloudFormation templates as data: load (YAML short tags and all), look up, lint.

Loading needs only PyYAML (the CloudFormation short tags ``!Ref``, ``!Sub``, ``!GetAtt`` ... are
turned into their long ``Fn::`` form). ``lint()`` uses cfn-lint, a development dependency,
imported only when called. The stack table (which template, which region, which parameters) has
one reader: ``reslab_lambda.stacks``; parameters are filled by ``reslab_lambda.cfn``.

>>> sorted(template_outputs("storage"))
['ReportBucketArn', 'ReportBucketName', 'WebsiteBucketName']
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from reslab import REPO_ROOT
from reslab.errors import ReslabError

TEMPLATE_DIR = REPO_ROOT / "cloudformation"

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
    """A template is missing or malformed."""


# libyaml's parser when PyYAML has it (~10x faster: installer.yaml took 0.4 s in pure Python)
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CfnLoader(_SafeLoader):  # type: ignore[valid-type,misc]
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
