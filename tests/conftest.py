"""Shared fixtures: real PostgreSQL and MariaDB databases, created fresh per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.dbservers import fresh_mysql, fresh_postgres


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_postgres() as url:
        yield url


@pytest.fixture
def mysql_url() -> Iterator[str]:
    with fresh_mysql() as url:
        yield url


@pytest.fixture(params=["postgres", "mysql"])
def db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each test using this runs once per engine."""
    factory = fresh_postgres if request.param == "postgres" else fresh_mysql
    with factory() as url:
        yield url
