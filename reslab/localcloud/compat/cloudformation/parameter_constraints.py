"""Template parameter constraints, which moto 5.2.5 ignores, enforced as AWS does.

``AllowedPattern`` (the whole value must match; ``re.fullmatch`` with ASCII classes, as Java's
``Pattern.matches``), ``AllowedValues``, ``MinLength``/``MaxLength`` and, for ``Number``
parameters, ``MinValue``/``MaxValue``: ``CreateStack``, ``UpdateStack`` and ``CreateChangeSet``
fail with ``ValidationError`` naming the first parameter whose value (given, previous or
default) breaks one, before anything is created -- no stack, no event. The messages are AWS's:

* ``Parameter 'BootObject' must match pattern [A-Za-z0-9._-]+``
* ``Parameter 'Engine' must be one of AllowedValues``
* ``Parameter 'Workshop' must contain at least 1 characters`` / ``at most 256 characters``
* ``Parameter 'EndpointPort' must be a number not less than 1`` / ``not greater than 65535``
* with a ``ConstraintDescription``: ``Parameter Engine failed to satisfy constraint: <it>``

List types (``CommaDelimitedList``, ``List<...>``) check the pattern, allowed values and
number bounds on each item. ``AWS::SSM::Parameter::Value<...>`` parameters are not checked
(their value is a parameter name), nor is the existence of AWS-typed ids (``AWS::EC2::VPC::Id``).

With the network model on (the default, gap 43) the local RDS gives a DNS name as
``Endpoint.Address``, as AWS does, and every value is judged. Only with it off
(``RESLAB_LOCAL_NETWORK=off``) is one value of the local cloud's own exempt from patterns: an
embedded PostgreSQL's socket directory, the old ``Endpoint.Address`` (it reaches the web stack's
``EndpointAddress`` through the database stack's outputs). Only an existing directory under the
local cloud's state directory holding a ``.s.PGSQL.<port>`` socket counts; an event value never
is one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from reslab.localcloud.context import cloud_context
from reslab.localcloud.network import service as network
from reslab.templates import TemplateError, loads_template

_installed = False
#: A YAML template's top-level ``Parameters:`` section (up to the next top-level key).
_PARAMETERS_BLOCK = re.compile(r"^Parameters:[ \t]*\n(?:(?:[ \t].*|[ \t]*)(?:\n|\Z))*", re.M)
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def local_socket_directory(value: str) -> bool:
    """``value`` is an embedded database's socket directory (the local RDS endpoint address)."""
    root = cloud_context.state_dir
    if root is None or not value.startswith("/") or network.enabled():
        return False
    path = Path(value)
    try:
        inside = path.resolve().is_relative_to(Path(root).resolve())
        return inside and path.is_dir() and any(path.glob(".s.PGSQL.*"))
    except OSError:
        return False


def _item_problem(definition: Mapping[str, Any], kind: str, item: str) -> str | None:
    """What is wrong with one value (or one list item), in AWS's words after the name."""
    if kind == "number":
        number = _number(item)
        if number is None:
            return "must be a number"
        low, high = definition.get("MinValue"), definition.get("MaxValue")
        if low is not None and number < float(low):
            return f"must be a number not less than {low}"
        if high is not None and number > float(high):
            return f"must be a number not greater than {high}"
        allowed = definition.get("AllowedValues")
        if allowed is not None and number not in {_number(str(a)) for a in allowed}:
            return "must be one of AllowedValues"
        return None
    allowed = definition.get("AllowedValues")
    if allowed is not None and item not in {str(a) for a in allowed}:
        return "must be one of AllowedValues"
    pattern = definition.get("AllowedPattern")
    if pattern is not None and not local_socket_directory(item):
        try:
            matched = re.fullmatch(str(pattern), item, re.ASCII)
        except re.error:
            return None  # a pattern Python cannot read: not judged here
        if matched is None:
            return f"must match pattern {pattern}"
    return None


def parameter_problem(name: str, definition: Mapping[str, Any], value: str) -> str | None:
    """AWS's ValidationError message for ``value`` of parameter ``name``, or None."""
    kind_name = str(definition.get("Type", "String"))
    if kind_name.startswith("AWS::SSM::Parameter::"):
        return None
    listed = kind_name == "CommaDelimitedList" or kind_name.startswith("List<")
    kind = "number" if kind_name in ("Number", "List<Number>") else "string"
    problem = None
    low, high = definition.get("MinLength"), definition.get("MaxLength")
    if kind == "string" and low is not None and len(value) < int(low):
        problem = f"must contain at least {low} characters"
    elif kind == "string" and high is not None and len(value) > int(high):
        problem = f"must contain at most {high} characters"
    else:
        items = [item.strip() for item in value.split(",")] if listed else [value]
        if listed and value == "":
            items = []
        problem = next(filter(None, (_item_problem(definition, kind, i) for i in items)), None)
    if problem is None:
        return None
    description = definition.get("ConstraintDescription")
    if description:
        return f"Parameter {name} failed to satisfy constraint: {description}"
    return f"Parameter '{name}' {problem}"


def template_problem(template: Mapping[str, Any], values: Mapping[str, Any]) -> str | None:
    """The first parameter of ``template`` whose effective value (``values``, else its default)
    breaks a constraint: AWS's message, or None."""
    for name, definition in (template.get("Parameters") or {}).items():
        if not isinstance(definition, Mapping):
            continue
        value = values.get(name, definition.get("Default"))
        if value is None:
            continue  # missing: moto's own MissingParameterError
        problem = parameter_problem(name, definition, str(value))
        if problem:
            return problem
    return None


@lru_cache(maxsize=64)
def _parameters(template_text: str) -> Mapping[str, Any] | None:
    """The template's Parameters (parsed once per template text: every lab of a fleet creates
    its stacks from the same texts, and the installer's is 50 KB of YAML)."""
    block = _PARAMETERS_BLOCK.search(template_text)
    if block and not template_text.lstrip().startswith("{"):
        try:  # just the Parameters section, with libyaml: a tenth of the whole template's time
            parsed = yaml.load(block.group(0), Loader=_FAST_LOADER)  # noqa: S506 (a SafeLoader)
            if isinstance(parsed, dict) and isinstance(parsed.get("Parameters"), dict):
                return dict(parsed["Parameters"])
        except yaml.YAMLError:
            pass  # a tag or an odd layout: read the whole template
    try:
        return loads_template(template_text).get("Parameters") or {}
    except (TemplateError, ValueError):
        return None  # moto reports a template it cannot read itself


def check(template_text: Any, values: Mapping[str, Any]) -> None:
    """Raise moto's ``ValidationError`` when ``values`` break the template's constraints."""
    from moto.cloudformation.exceptions import ValidationError

    if not isinstance(template_text, str) or not template_text:
        return
    parameters = _parameters(template_text)
    problem = template_problem({"Parameters": parameters}, values) if parameters else None
    if problem:
        raise ValidationError(message=problem)


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.cloudformation.models import CloudFormationBackend

    create_stack = CloudFormationBackend.create_stack
    update_stack = CloudFormationBackend.update_stack
    create_change_set = CloudFormationBackend.create_change_set

    def checked_create(self: Any, name: str, template: str, parameters: Any, **kw: Any) -> Any:
        check(template, parameters or {})
        return create_stack(self, name, template, parameters, **kw)

    def checked_update(
        self: Any, name: str, template: str, role_arn: Any, parameters: Any, tags: Any
    ) -> Any:
        previous = dict(getattr(self.get_stack(name), "parameters", None) or {})
        values = {}  # given, else the previous value (absent: the template default applies)
        for entry in parameters or []:
            key = entry.get("ParameterKey")
            if "ParameterValue" in entry:
                values[key] = entry["ParameterValue"]
            elif entry.get("UsePreviousValue") and key in previous:
                values[key] = previous[key]
        check(template, values)
        return update_stack(self, name, template, role_arn, parameters, tags)

    def checked_change_set(
        self: Any, stack_name: str, change_set_name: str, template: str, parameters: Any, **kw: Any
    ) -> Any:
        check(template, parameters or {})
        return create_change_set(self, stack_name, change_set_name, template, parameters, **kw)

    CloudFormationBackend.create_stack = checked_create  # type: ignore[method-assign]
    CloudFormationBackend.update_stack = checked_update  # type: ignore[method-assign]
    CloudFormationBackend.create_change_set = checked_change_set  # type: ignore[method-assign]
    _installed = True
