"""What the deploy Lambda passes as a stack's parameters, for a template file and known outputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reslab.templates import template_parameters
from reslab_lambda.cfn import resolve_parameters
from reslab_lambda.stacks import StackSpec


def stack_parameters(
    spec: StackSpec, event: Mapping[str, Any], outputs: Mapping[str, Mapping[str, str]]
) -> dict[str, str]:
    """``reslab_lambda.cfn.resolve_parameters`` over the template's parameters, with the outputs
    of ``spec``'s dependencies merged as ``dependency_outputs`` merges them (``outputs``: stack
    key -> that stack's outputs)."""
    merged = {k: v for dep in spec.depends_on for k, v in outputs.get(dep, {}).items()}
    return resolve_parameters(spec, template_parameters(spec.template), event, merged)
