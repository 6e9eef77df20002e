"""One source for constraints: every template parameter an event key fills carries exactly that
key's constraint from EVENT_KEYS (lab templates and the installer), and the generated lines are
fresh."""

from __future__ import annotations

import re

import pytest

from reslab import parameters
from reslab.installer.template import EVENT_PARAMETERS, PARAMETERS
from reslab.templates import template_parameters
from reslab_lambda.event import KEYS_BY_NAME

ROWS = list(parameters.template_constraints())


def _fields(definition: dict) -> dict:
    return {k: definition[k] for k in parameters.FIELDS if k in definition}


def test_the_templates_constraints_are_generated_and_fresh() -> None:
    assert parameters.main(["--check"]) == 0, "run python -m reslab.parameters"


@pytest.mark.parametrize(
    ("template", "parameter", "key"),
    [(t, p, k) for t, p, k, _ in ROWS],
    ids=[f"{t.rsplit('/', 1)[-1]}:{p}" for t, p, _, _ in ROWS],
)
def test_lab_template_parameter_has_the_event_keys_constraint(
    template: str, parameter: str, key: str
) -> None:
    definition = template_parameters(template)[parameter]
    constraint = KEYS_BY_NAME[key].constraint
    assert constraint is not None
    # an empty template default (an optional key's parameter) is accepted: no MinLength
    expected = parameters.for_default(parameter, constraint, definition.get("Default"))
    assert _fields(definition) == expected.template_fields()


@pytest.mark.parametrize(("parameter", "key"), sorted(EVENT_PARAMETERS.items()))
def test_installer_parameter_has_the_event_keys_constraint(parameter: str, key: str) -> None:
    constraint = KEYS_BY_NAME[key].constraint
    assert constraint is not None
    assert _fields(PARAMETERS[parameter]) == constraint.template_fields()
    on_disk = template_parameters("installer.yaml")[parameter]
    assert _fields(on_disk) == constraint.template_fields()


def test_every_event_key_that_fills_a_parameter_is_covered() -> None:
    """The rows the tests above walk are every (template, parameter) an event key fills."""
    from reslab_lambda.stacks import stack_table

    filled = {(s.template_path, p) for s in stack_table() for p in s.event_parameters}
    assert filled == {(t, p) for t, p, _, _ in ROWS}
    assert {"workshop", "engine", "websiteimage", "boot_bucket", "boot_prefix", "boot_object"} <= {
        k for _, _, k, _ in ROWS
    }


def test_no_pattern_relies_on_anchors() -> None:
    """Full-value matching is the checker's job (CloudFormation's and re.fullmatch): a generated
    pattern with ``$`` would read as if a trailing newline mattered."""
    for key in KEYS_BY_NAME.values():
        if key.constraint and key.constraint.pattern:
            assert not re.search(r"(^\^)|((?<!\\)\$$)", key.constraint.pattern), key.name


def test_rewrite_replaces_only_the_named_parameters_constraint_lines() -> None:
    text = (
        "Parameters:\n"
        "  A:\n"
        "    Type: String\n"
        "    AllowedPattern: ^old$\n"
        "    AllowedValues:\n"
        "      - x\n"
        "    Default: d\n"
        "\n"
        "  B:\n"
        "    Type: String\n"
        "    AllowedPattern: keep\n"
        "Resources: {}\n"
    )
    constraint = KEYS_BY_NAME["engine"].constraint
    assert constraint is not None
    out = parameters.rewrite(text, {"A": constraint})
    assert out == (
        "Parameters:\n"
        "  A:\n"
        "    Type: String\n"
        "    Default: d\n"
        "    AllowedValues: [postgres, mysql]\n"
        "\n"
        "  B:\n"
        "    Type: String\n"
        "    AllowedPattern: keep\n"
        "Resources: {}\n"
    )
