"""Errors a Lambda raises; the class name is the Step Functions error name (``errorType``)."""


class LabError(Exception):
    """Base class; never raised itself."""


class InvalidEvent(LabError):
    """The event is missing a key, has a mistyped value, or names a bad region or tag."""


class StackFailed(LabError):
    """A stack failed or rolled back; the message names it and the first failure reason."""


class DependencyNotReady(LabError):
    """A stack was asked to deploy while a stack it depends on is missing or not complete."""


class TemplateTampered(LabError):
    """A lab template in the template bucket is not the installed version's (its SHA-256 differs
    from the version's manifest, or the manifest does not list it): no stack is created."""


class BucketNotEmptied(LabError):
    """Teardown could not delete every object version of a lab bucket (so not the stack)."""


class ReplicationFailed(LabError):
    """A stack's DMS replication task failed; the message names it and DMS's failure message."""
