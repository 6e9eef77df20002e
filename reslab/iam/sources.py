"""Where a value of an authorization comes from: the request's parameters, the backend's state,
or a fixed text. The rows of :mod:`reslab.iam.operations` are made of these; the builder
(:mod:`reslab.iam.context`) reads them.

Paths are dotted parameter names as boto3 spells them; ``[]`` steps into every element of a list
(``InstanceIds[]``, ``Delete.Objects[].Key``) and ``[?Field]`` into the elements that have
``Field`` (``Delete.Objects[?VersionId].Key``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Param:
    """A request parameter; ``default`` when the request leaves it out (AWS's default)."""

    path: str
    default: str | Lookup | None = None


@dataclass(frozen=True)
class Lookup:
    """The backend's state maps a parameter (a name, an id, an association...) to an ARN or a
    value: ``Lookup("stack_arn", "StackName")``. Resolvers: ``reslab.iam.state.RESOLVERS``."""

    resolver: str
    path: str


@dataclass(frozen=True)
class Derived:
    """A pure function of parameters: ``Derived("function_arn", "FunctionName", "Qualifier")``.
    Functions: ``reslab.iam.context.DERIVERS``."""

    function: str
    paths: tuple[str, ...]

    def __init__(self, function: str, *paths: str) -> None:
        object.__setattr__(self, "function", function)
        object.__setattr__(self, "paths", paths)


@dataclass(frozen=True)
class Fixed:
    """A fixed text; ``{region}``, ``{account}`` and ``{partition}`` are the request's."""

    value: str


Source = Param | Lookup | Derived | Fixed
#: One resource type's ARN: one source for its only variable (or for the whole ARN when the value
#: is one), or a source per variable. An empty mapping leaves every variable ``*``.
Binding = Source | Mapping[str, Source]
#: The resource type of an ARN handed over whole (``ListTagsForResource``'s ``ResourceName``).
WHOLE_ARN = "(the ARN given)"
