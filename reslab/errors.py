"""Named errors: the class name is what the CLI prints first on stderr (``Name: message``)."""


class ReslabError(Exception):
    """Base class: the class name is the error's public name."""

    @property
    def name(self) -> str:
        return type(self).__name__

    def __str__(self) -> str:  # pragma: no cover - trivial
        return super().__str__()


class InvalidEvent(ReslabError):
    """The deployment event is missing a key, has a mistyped value, or names a bad region/tag."""


class StackFailed(ReslabError):
    """A CloudFormation stack failed or rolled back."""


class ExecutionFailed(ReslabError):
    """A state machine execution ended in a state other than SUCCEEDED."""


class LocalCloudError(ReslabError):
    """The embedded local cloud could not start or answer."""
