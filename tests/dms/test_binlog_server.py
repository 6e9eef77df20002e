"""A private binlog server shares the machine with the MariaDB at 127.0.0.1:3306 and with other
private servers: it must not touch their files."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from reslab.dburl import connect
from reslab.localcloud.binlog_server import BinlogServer
from tests.dms.writer import scalar


def test_starting_a_server_leaves_the_machines_temporary_tables_alone(server_dir: Path) -> None:
    # mariadbd deletes every #sql* file in its tmpdir when it starts; on the shared /tmp that
    # removed the in-use temporary tables of the machine's server (Errcode 2 on delete).
    in_use = Path(tempfile.gettempdir()) / f"#sql-temptable-reslab-{uuid.uuid4().hex}.MAI"
    in_use.write_bytes(b"")
    try:
        with BinlogServer(server_dir / f"tmpdir-{uuid.uuid4().hex[:8]}") as server:
            with connect(server.admin_url()) as conn:
                tmpdir = str(scalar(conn, "SELECT @@tmpdir"))
            assert Path(tmpdir) == server.tmpdir
            assert server.tmpdir.is_relative_to(server.root)
        assert in_use.exists()
    finally:
        in_use.unlink(missing_ok=True)
