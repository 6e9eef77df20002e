"""Stack updates and change sets (``aws cloudformation deploy``) in moto 5.2.5.

1. An update that changes only parameters re-created a resource only when the parameter appears
   in a ``Ref``; one used only inside ``Fn::Sub`` (the installer's
   ``S3Key: !Sub "${ArtifactPrefix}create_stack.zip"``) left the resource untouched, so a new
   build never reached the functions. We extend moto's reference finder with ``Fn::Sub``
   variables.
2. Executing a change set created the resources but left the stack as the change set found it:
   no Outputs (a CREATE change set's stack starts from an empty template), the old Parameters
   and Description. We refresh them from the change set after it is executed.
3. ``UsePreviousValue`` on a parameter that took its template default at create (``reslab mode``
   keeps every other web-stack parameter this way) raised ``KeyError`` (HTTP 500): moto looks it
   up among the values passed. Here the previous value is the one in effect, as on AWS: passed,
   else the template's default; a key the stack's template does not have is a ValidationError.
"""

from __future__ import annotations

import re
from typing import Any

_SUB_VARIABLE = re.compile(r"\$\{([A-Za-z0-9_:]+)(?:\.[A-Za-z0-9_.]+)?\}")
_installed = False


def sub_references(node: Any) -> list[str]:
    """Names used as ``${Name}`` (or ``${Name.Attr}``) in every ``Fn::Sub`` under ``node``."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                if isinstance(text, str):
                    found += _SUB_VARIABLE.findall(text)
                if isinstance(value, list) and len(value) > 1:
                    found += sub_references(value[1])
            else:
                found += sub_references(value)
    elif isinstance(node, list):
        for item in node:
            found += sub_references(item)
    return found


def _patch_execute_change_set() -> None:
    from moto.cloudformation.models import CloudFormationBackend

    original = CloudFormationBackend.execute_change_set

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = self.change_sets.get(change_set_name) or next(
            (c for c in self.change_sets.values() if c.change_set_name == change_set_name), None
        )
        original(self, change_set_name, stack_name)
        if change_set is None:
            return
        stack = self.stacks[change_set.stack_id]
        stack._parse_template()
        stack.parameters = dict(change_set.parameters or {})
        stack.description = stack.template_dict.get("Description")
        stack.output_map = stack._create_output_map()

    CloudFormationBackend.execute_change_set = execute_change_set  # type: ignore[method-assign]


def previous_values(stack: Any) -> dict[str, str]:
    """Each parameter's value in effect: passed at the last create/update, else the default."""
    declared = (getattr(stack, "template_dict", None) or {}).get("Parameters") or {}
    values = {name: str(spec["Default"]) for name, spec in declared.items() if "Default" in spec}
    values.update(stack.parameters or {})
    return values


def _patch_previous_values() -> None:
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import CloudFormationBackend, Stack

    original = CloudFormationBackend._resolve_update_parameters

    def resolve(self: Any, instance: Any, incoming_params: list[dict[str, Any]]) -> dict[str, str]:
        if not isinstance(instance, Stack):
            return original(self, instance, incoming_params)  # type: ignore[no-any-return]
        previous = previous_values(instance)
        resolved = {}
        for param in incoming_params:
            key = param["ParameterKey"]
            if "ParameterValue" in param:
                resolved[key] = param["ParameterValue"]
            elif param.get("UsePreviousValue"):
                if key not in previous:
                    raise ValidationError(
                        message=f"Invalid input for parameter key {key}. Cannot specify "
                        "usePreviousValue as true for a parameter key not in the previous template"
                    )
                resolved[key] = previous[key]
        return resolved

    CloudFormationBackend._resolve_update_parameters = resolve  # type: ignore[method-assign]


def install() -> None:
    global _installed
    if _installed:
        return
    _patch_execute_change_set()
    _patch_previous_values()
    from moto.cloudformation import parsing

    refs_only = parsing.get_references_from_template

    def references(template: Any) -> list[str]:
        return [*refs_only(template), *sub_references(template)]

    parsing.get_references_from_template = references  # type: ignore[assignment]
    _installed = True
