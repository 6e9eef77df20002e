"""Named errors of the fleet commands (class name = public name, see reslab.errors)."""

from __future__ import annotations

from reslab.errors import ReslabError


class InvalidTargets(ReslabError):
    """The targets CSV is unreadable, misses a column, or has a bad row (row number first)."""


class FleetFailed(ReslabError):
    """At least one target failed; the others ran to their end (see the summary / state file)."""


class TargetCredentials(ReslabError):
    """A target's role could not be assumed or its profile could not be loaded."""
