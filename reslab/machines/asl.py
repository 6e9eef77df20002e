"""What the machine builders share: a Lambda Task from the function catalogue, the JSON text,
the ``${Name}`` placeholders and their ONE renderer, and the Mermaid diagram.

Lambda ARNs in the ASL are ``${Placeholder}``s (``reslab.functions.Function.placeholder``): on
AWS CloudFormation fills them from the installer stack's ``DefinitionSubstitutions``; the local
cloud fills them with :func:`render` (its CloudFormation compat for state machines, and any
install through the API).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reslab import REPO_ROOT, docblocks
from reslab.functions import function

STATEMACHINE_DIR = REPO_ROOT / "statemachine"
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.:-]+)\}")


def lambda_task(
    folder: str,
    result_path: str,
    nxt: str,
    *,
    retry: list[dict[str, Any]],
    catch_to: str,
    parameters: dict[str, Any] | None = None,
    catch_path: str = "$.error",
) -> dict[str, Any]:
    """A Task invoking ``lambdas/<folder>``: retried on ``retry``, any error caught into
    ``catch_path`` and sent to ``catch_to``."""
    fn = function(folder)
    return {
        "Type": "Task",
        "Resource": f"${{{fn.placeholder}}}",
        **({"Parameters": parameters} if parameters else {}),
        "ResultPath": result_path,
        "TimeoutSeconds": fn.task_seconds,
        "Retry": retry,
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": catch_path, "Next": catch_to}],
        "Next": nxt,
    }


def dumps(definition: Mapping[str, Any]) -> str:
    """The checked-in text of a definition."""
    return json.dumps(definition, indent=2) + "\n"


def definition_path(machine: str) -> Path:
    return STATEMACHINE_DIR / f"{machine}.asl.json"


def load(machine: str) -> str:
    """The checked-in definition text, placeholders and all."""
    return definition_path(machine).read_text(encoding="utf-8")


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def render(definition: str | Mapping[str, Any], substitutions: Mapping[str, Any]) -> str:
    """The definition (JSON text or a parsed dict) with every ``${Name}`` filled, as
    DefinitionSubstitutions are: a string value escaped for use inside a JSON string, a number
    or boolean as JSON. A placeholder without a value is a ``KeyError`` (CloudFormation fails
    the same way)."""
    text = definition if isinstance(definition, str) else json.dumps(definition)
    missing = placeholders(text) - set(substitutions)
    if missing:
        raise KeyError(f"no DefinitionSubstitutions value for: {', '.join(sorted(missing))}")

    def value(match: re.Match[str]) -> str:
        raw = substitutions[match.group(1)]
        if isinstance(raw, bool | int | float):
            return json.dumps(raw)
        return json.dumps(str(raw))[1:-1]

    return _PLACEHOLDER.sub(value, text)


# --- Mermaid -------------------------------------------------------------------------------
MERMAID_BEGIN = docblocks.begin_marker("python -m reslab.machines")
MERMAID_END = docblocks.END


def _node_id(name: str) -> str:
    return re.sub(r"\W", "_", name)


def _mermaid_states(states: Mapping[str, Any], lines: list[str], indent: str) -> None:
    shapes = {"Choice": "{{{{{}}}}}", "Wait": "([{}])", "Fail": "[/{}/]", "Pass": "[{}]"}
    for name, state in states.items():
        node = _node_id(name)
        if state["Type"] == "Parallel":
            lines.append(f'{indent}subgraph {node}["{name}"]')
            lines.append(f"{indent}  direction TB")
            for branch in state["Branches"]:
                _mermaid_states(branch["States"], lines, indent + "  ")
            lines.append(f"{indent}end")
        else:
            shape = shapes.get(state["Type"], "[[{}]]")
            lines.append(f"{indent}{node}{shape.format(chr(34) + name + chr(34))}")
    for name, state in states.items():
        node = _node_id(name)
        targets = [state.get("Next"), state.get("Default")]
        targets += [c["Next"] for c in state.get("Choices", [])]
        targets += [c["Next"] for c in state.get("Catch", [])]
        seen: set[str] = set()
        for target in targets:
            if target and target not in seen:
                seen.add(target)
                lines.append(f"{indent}{node} --> {_node_id(target)}")


def mermaid(definition: Mapping[str, Any]) -> str:
    """A Mermaid flowchart of the definition (Parallel states become subgraphs)."""
    lines = ["flowchart TD"]
    _mermaid_states(definition["States"], lines, "  ")
    return "\n".join(lines) + "\n"


def diagram_block(definitions: Mapping[str, Mapping[str, Any]]) -> str:
    parts = [MERMAID_BEGIN]
    for machine, definition in definitions.items():
        parts += [f"\n### {machine}.asl.json\n", "```mermaid", mermaid(definition).rstrip(), "```"]
    parts.append(MERMAID_END)
    return "\n".join(parts)


def with_diagram(doc: str, definitions: Mapping[str, Mapping[str, Any]]) -> str:
    """``doc`` with the text between the generated-block markers replaced."""
    return docblocks.replace_block(doc, MERMAID_BEGIN, diagram_block(definitions), MERMAID_END)
