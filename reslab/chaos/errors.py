"""Named errors of the chaos commands (the class name is what the CLI prints)."""

from __future__ import annotations

from reslab.errors import ReslabError


class NotLabResource(ReslabError):
    """A resource lacks the lab's workshop tag (or is in another region): refused."""


class LabResourceNotFound(ReslabError):
    """The lab resource to act on could not be found (no stack output and no tagged resource)."""


class NothingToInject(ReslabError):
    """The failure has no target right now (no in-service instance, no lab subnet in that AZ...)."""


class InvalidHypothesis(ReslabError):
    """A --hypothesis expression could not be parsed."""


class SteadyStateNotMet(ReslabError):
    """The target already failed during the baseline: nothing injected (``--force`` overrides)."""


class HypothesisFailed(ReslabError):
    """The steady-state hypothesis did not hold during the experiment."""


class JournalError(ReslabError):
    """The journal could not be written: the injection was not started."""


class InvalidFisTemplate(ReslabError):
    """An exported FIS experiment template does not match the CreateExperimentTemplate shape."""


class AlreadyInjected(ReslabError):
    """The same failure is still in force from an earlier run: recover it first."""
