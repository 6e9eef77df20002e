"""Named errors of the backup-verification workflow.

The class name is the Lambda ``errorType``, hence the Step Functions error name, hence the name the
execution fails with (``reslab verify-backup`` prints it as the last stderr line).
"""

from __future__ import annotations

from reslab.errors import ReslabError


class BackupVerifyError(ReslabError):
    """Base class; never raised itself."""


class InvalidRestoreEvent(BackupVerifyError):
    """The restore event is missing a key or has a mistyped value."""


class PlaintextSecretRefused(BackupVerifyError):
    """The event carries a password: it would be stored in the execution history."""


class SecretNotFound(BackupVerifyError):
    """The Secrets Manager secret or SSM parameter named in the event does not exist."""


class SnapshotNotFound(BackupVerifyError):
    """No snapshot of the source instance matches the request."""


class SnapshotFailed(BackupVerifyError):
    """Taking a fresh snapshot (``"snapshot": "new"``) failed."""


class RestoreFailed(BackupVerifyError):
    """RDS refused the restore, or the temporary instance ended in a failed state."""


class RestoreTimeout(BackupVerifyError):
    """The temporary instance was not available before the deadline."""


class CheckQueryFailed(BackupVerifyError):
    """Connecting to the restored database or running SQL on it failed."""


class ChecksFailed(BackupVerifyError):
    """The restored data failed at least one integrity check (the report names them)."""


class SnapshotPredatesData(ChecksFailed):
    """The restored snapshot holds no rows while its source had some: it was taken before the
    data was loaded (the automatic snapshot of a new instance); verify a fresh one."""


class ReportNotFound(BackupVerifyError):
    """``reslab reports --download/--open ID``: no report of that id in the report bucket."""


class ReportWriteFailed(BackupVerifyError):
    """The report or fingerprint could not be read from / written to the report bucket."""


class CleanupFailed(BackupVerifyError):
    """The temporary instance could not be deleted."""


class NotificationFailed(BackupVerifyError):
    """Slack did not accept the notification after retries."""


class ExecutionError(ReslabError):
    """A verification execution failed; ``name`` is the execution's own error name."""

    def __init__(self, error_name: str, message: str) -> None:
        super().__init__(message)
        self._error_name = error_name or "ExecutionFailed"

    @property
    def name(self) -> str:
        return self._error_name
