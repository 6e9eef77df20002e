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


# --- order of the run ------------------------------------------------------------------------
#: Modules that deploy whole labs or lint every template (a minute or more each, measured with
#: ``--durations``), longest first. `make test` hands whole modules to its xdist workers in
#: collection order (``--dist loadfile --no-loadscope-reorder``): started first, they overlap
#: the many short tests instead of ending the run on one busy worker.
LONG_MODULES = (
    "tests/fleet/test_fleet_local.py",
    "tests/fleet/test_lifecycle.py",
    "tests/iam/test_every_statement_needed.py",
    "tests/deploy/test_machine_stubs.py",
    "tests/deploy/test_event_handoff.py",
    "tests/templates/test_lint.py",
    "tests/deploy/test_cli.py",
    "tests/deploy/test_invalid_events_machine.py",
    "tests/deploy/test_two_az_region.py",
    "tests/inject/test_real_lab.py",
    "tests/restore/test_strictness_matrix.py",
    "tests/inject/test_lab_page.py",
    "tests/deploy/test_event_properties.py",
    "tests/deploy/test_web_bootstrap.py",
    "tests/docs/test_troubleshooting_examples.py",
    "tests/browser/test_pages.py",
    "tests/restore/test_restore_cli.py",
    "tests/webapp/test_page.py",
    "tests/dms/test_handoff.py",
)


#: Modules that use moto's ``mock_aws``: leaving the mock resets moto's backends, which are
#: global to the process, so on a worker that already holds the session's local cloud it would
#: wipe the labs other modules installed there (a restore lab's subnet group vanished). They run
#: first: the first units of work go one to each worker and run before anything else there.
MOCK_AWS_MODULES = (
    "tests/deploy/test_lambda_functions.py",
    "tests/templates/test_contract.py",
    "tests/iam/test_motostate.py",
)


def pytest_configure(config: pytest.Config) -> None:
    """xdist hands out modules in collection order, whatever the command line says: with its
    default ``--loadscope-reorder`` (largest module first) a mock_aws module could run after a
    module that installed a lab on the same worker and wipe it (`--dist loadfile` without
    ``--no-loadscope-reorder``: six restore tests failed with their lab's subnet group gone)."""
    if hasattr(config.option, "loadscopereorder"):  # xdist is installed
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The mock_aws modules, then the long modules in LONG_MODULES order, then the rest as
    collected (a stable sort: the order inside a module never changes)."""
    ordered = (*MOCK_AWS_MODULES, *LONG_MODULES)
    rank = {module: position for position, module in enumerate(ordered)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


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
