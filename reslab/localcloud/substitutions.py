"""``DefinitionSubstitutions`` for Step Functions definitions (moto ignores them).

    render_definition(Path("statemachine/deploy.asl.json").read_text(),
                      {"CreateStackFunctionArn": arn, ...})

replaces every ``${Name}`` with the value (JSON-escaped when it sits inside a JSON string, like
CloudFormation does); an unknown ``${Name}`` raises ``KeyError`` (CloudFormation fails too).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.:-]+)\}")


def placeholders(definition: str) -> set[str]:
    return set(_PLACEHOLDER.findall(definition))


def render_definition(definition: str | Mapping[str, Any], substitutions: Mapping[str, Any]) -> str:
    """The definition (a JSON string or a parsed dict) with ``${Name}`` placeholders filled."""
    text = definition if isinstance(definition, str) else json.dumps(definition)
    missing = placeholders(text) - set(substitutions)
    if missing:
        raise KeyError(f"no DefinitionSubstitutions value for: {', '.join(sorted(missing))}")

    def value(match: re.Match[str]) -> str:
        raw = substitutions[match.group(1)]
        if isinstance(raw, bool | int | float):
            return json.dumps(raw)
        return json.dumps(str(raw))[1:-1]  # escaped for use inside a JSON string

    return _PLACEHOLDER.sub(value, text)
