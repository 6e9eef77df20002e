"""An embedded PostgreSQL (pgserver, as behind the local cloud's RDS) with ``wal_level=logical``:
what the DMS engine's PostgreSQL source needs (RDS: ``rds.logical_replication=1``).

``wal_level`` takes effect only at server start: the cluster is started once (pgserver runs
initdb), the setting is written with ``ALTER SYSTEM``, and the server restarted (~0.4 s). The
local cloud's embedded instances can get the same by the one ``ALTER SYSTEM`` in the template
cluster that ``dbbacking`` copies (docs/dms.md, integration plan)::

    with logical_server(tmp_path / "pg") as admin:   # DbTarget of the superuser, db "postgres"
        ...
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from reslab.dburl import DbTarget, connect, parse_db_url

LOGICAL_SETTINGS: dict[str, str] = {"wal_level": "logical", "max_replication_slots": "20"}


def _server(pgdata: Path) -> object:
    with warnings.catch_warnings():  # platformdirs: XDG_RUNTIME_DIR unset
        warnings.simplefilter("ignore")
        import pgserver
    return pgserver.get_server(pgdata, cleanup_mode="stop")


def _admin(server: object) -> DbTarget:
    admin = parse_db_url(server.get_uri())  # type: ignore[attr-defined]
    port = server.get_postmaster_info().port  # type: ignore[attr-defined]
    return replace(admin, port=int(port or 5432))


@contextmanager
def logical_server(pgdata: Path) -> Iterator[DbTarget]:
    """Start (initialising if needed) a cluster with logical decoding on; stop it on exit."""
    server = _server(pgdata)
    admin = _admin(server)
    with connect(admin) as conn:
        current = conn.execute("SHOW wal_level").fetchone()[0]
        if current != "logical":
            for name, value in LOGICAL_SETTINGS.items():
                conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
    if current != "logical":
        server.cleanup()  # type: ignore[attr-defined]
        server = _server(pgdata)
        admin = _admin(server)
    try:
        yield admin
    finally:
        server.cleanup()  # type: ignore[attr-defined]
