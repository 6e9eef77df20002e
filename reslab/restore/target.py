"""The database URL of an RDS instance, from its endpoint and fetched credentials.

In the local cloud an embedded PostgreSQL's Endpoint.Address is its unix-socket DIRECTORY (it
starts with ``/``); anywhere else it is a host name.
"""

from __future__ import annotations

from typing import Any

from reslab.dburl import DEFAULT_PORTS, DbTarget
from reslab.restore.credentials import Credentials

_DEFAULT_DB = {"postgres": "postgres", "mysql": "mysql"}


def endpoint_target(endpoint: dict[str, Any], run: dict[str, Any], creds: Credentials) -> DbTarget:
    engine = run["engine"]
    address = str(endpoint["address"])
    socket_dir = address if address.startswith("/") else None
    return DbTarget(
        engine=engine,
        host=address,
        port=int(endpoint.get("port") or DEFAULT_PORTS[engine]),
        user=creds.username,
        password=creds.password,
        dbname=str(endpoint.get("database") or run.get("database") or _DEFAULT_DB[engine]),
        socket_dir=socket_dir,
    )


def instance_target(desc: dict[str, Any], run: dict[str, Any], creds: Credentials) -> DbTarget:
    endpoint = desc.get("Endpoint") or {}
    return endpoint_target(
        {
            "address": endpoint.get("Address", ""),
            "port": endpoint.get("Port"),
            "database": desc.get("DBName") or run.get("database"),
        },
        run,
        creds,
    )
