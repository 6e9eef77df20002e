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


# --- local cloud (owned by the local-cloud area; see docs/local-cloud.md) --------------------
@pytest.fixture(scope="session")
def local_cloud() -> Iterator[object]:
    """One embedded LocalCloud per test session (per xdist worker), shared by every test.

    Isolate by name, not by reset(): use ``reslab.localcloud.testing.unique_prefix("area")`` for
    stack / function / state-machine names. Per-test knobs that undo themselves:
    ``with local_cloud.scaled_time(60): ...`` and ``with local_cloud.failing_stacks(pattern): ...``.
    """
    from reslab.localcloud import LocalCloud

    with LocalCloud() as cloud:
        yield cloud
