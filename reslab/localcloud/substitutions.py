"""``DefinitionSubstitutions`` for Step Functions definitions (moto ignores them).

    render_definition(Path("statemachine/deploy.asl.json").read_text(),
                      {"CreateStackFunctionArn": arn, ...})

The local cloud's name for the lab's ONE renderer of ``${Name}`` placeholders,
:func:`reslab.machines.asl.render`: a string value JSON-escaped inside a JSON string (like
CloudFormation), an unknown ``${Name}`` a ``KeyError`` (CloudFormation fails too).
"""

from __future__ import annotations

from reslab.machines.asl import render as render_definition

__all__ = ["render_definition"]
