from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto.server import ThreadedMotoServer

from tests.dbservers import fresh_mysql, fresh_postgres
from tests.webapp.support import TcpProxy, create_schema, query
from webapp.db import parse_db_url

FACTORIES = {"postgres": fresh_postgres, "mysql": fresh_mysql}


@pytest.fixture(scope="module", params=list(FACTORIES))
def shared_db(request: pytest.FixtureRequest) -> Iterator[str]:
    """One database per engine and test module, with the hits table (creating and dropping
    databases is the slow part of these tests)."""
    with FACTORIES[request.param]() as url:
        create_schema(url)
        yield url


@pytest.fixture
def app_db(shared_db: str) -> str:
    """The module's database (each engine in turn) with empty hits and hit_counts tables."""
    query(shared_db, "TRUNCATE TABLE hits")
    query(shared_db, "TRUNCATE TABLE hit_counts")
    return shared_db


@pytest.fixture
def app_db_empty(db_url: str) -> str:
    """A fresh database (each engine in turn) without the hits table."""
    return db_url


@pytest.fixture
def proxy(app_db: str) -> Iterator[TcpProxy]:
    """A TCP forwarder to the database server of ``app_db``, started."""
    target = parse_db_url(app_db)
    forwarder = TcpProxy(target.host, target.port)
    forwarder.start()
    yield forwarder
    forwarder.stop()


@pytest.fixture
def moto_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A real moto server (S3, Secrets Manager, ...) with AWS_* pointing at it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    yield endpoint
    server.stop()
