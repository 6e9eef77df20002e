"""The local replication engine behind the local cloud's AWS DMS (docs/dms.md).

A task runs between two real databases: a full load of the tables its AWS-style table mappings
select, then change data capture -- MySQL/MariaDB from the row-based binary log
(``mysql_source``), PostgreSQL from a logical replication slot decoded by ``pgoutput``
(``postgres_source``) -- applied to the target by key (``target``), with the states, table
statistics and CDC latencies AWS DMS reports (``task``).
"""

from reslab.localcloud.dms.errors import (
    InvalidTableMappings,
    InvalidTaskSettings,
    SourceNotReady,
    UnsupportedEndpoint,
    UnsupportedTableMapping,
)
from reslab.localcloud.dms.mappings import TableMappings, parse_table_mappings, schema_mappings
from reslab.localcloud.dms.task import ReplicationTask, TaskSettings, TaskStateError

__all__ = [
    "InvalidTableMappings",
    "InvalidTaskSettings",
    "ReplicationTask",
    "SourceNotReady",
    "TableMappings",
    "TaskSettings",
    "TaskStateError",
    "UnsupportedEndpoint",
    "UnsupportedTableMapping",
    "parse_table_mappings",
    "schema_mappings",
]
