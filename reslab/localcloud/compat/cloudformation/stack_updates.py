"""Stack updates and change sets (``aws cloudformation deploy``) in moto 5.2.5.

1. An update that changes only parameters re-created a resource only when the parameter appears
   in a ``Ref``; one used only inside ``Fn::Sub`` (the installer's
   ``S3Key: !Sub "${ArtifactPrefix}create_stack.zip"``) left the resource untouched, so a new
   build never reached the functions. We extend moto's reference finder with ``Fn::Sub``
   variables.
2. Executing a change set created the resources but left the stack as the change set found it:
   no Outputs (a CREATE change set's stack starts from an empty template), the old Parameters
   and Description. We refresh them from the change set after it is executed.
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


def install() -> None:
    global _installed
    if _installed:
        return
    _patch_execute_change_set()
    from moto.cloudformation import parsing

    refs_only = parsing.get_references_from_template

    def references(template: Any) -> list[str]:
        return [*refs_only(template), *sub_references(template)]

    parsing.get_references_from_template = references  # type: ignore[assignment]
    _installed = True
