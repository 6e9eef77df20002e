"""The named errors of the local replication engine (``Name: message`` on the CLI)."""

from __future__ import annotations

from reslab.errors import ReslabError


class InvalidTableMappings(ReslabError):
    """The task's TableMappings JSON is not what AWS DMS accepts (AWS: InvalidParameterValue)."""


class UnsupportedTableMapping(ReslabError):
    """A mapping rule AWS accepts but the local engine does not apply (transformations)."""


class InvalidTaskSettings(ReslabError):
    """ReplicationTaskSettings names a value AWS DMS refuses."""


class SourceNotReady(ReslabError):
    """The source cannot feed change data capture (binary log off, not ROW, wal_level not
    logical, missing privilege): the task fails at start, as on AWS."""


class UnsupportedEndpoint(ReslabError):
    """An endpoint engine the local engine cannot read or write (only mysql and postgres)."""
