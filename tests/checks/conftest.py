"""A source database with sample data (one per engine, shared: tests never write to it) and a
fresh target copied from it for each test (tests break the target)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from tests.checks.sample import Pair, clone, populate
from tests.dbservers import fresh_mysql, fresh_postgres

FACTORIES = {"postgres": fresh_postgres, "mysql": fresh_mysql}


@pytest.fixture(scope="session")
def source_of() -> Iterator[Callable[[str], str]]:
    """engine -> URL of the shared, populated source database (created on first use)."""
    urls: dict[str, str] = {}
    with ExitStack() as stack:

        def get(engine: str) -> str:
            if engine not in urls:
                urls[engine] = stack.enter_context(FACTORIES[engine]("reslab_src"))
                populate(urls[engine])
            return urls[engine]

        yield get


def make_pair(engine: str, source: str) -> Iterator[Pair]:
    with FACTORIES[engine]("reslab_tgt") as target:
        clone(source, target)
        yield Pair(engine, source, target)


@pytest.fixture(params=sorted(FACTORIES))
def pair(request: pytest.FixtureRequest, source_of: Callable[[str], str]) -> Iterator[Pair]:
    """Identical source and target on one engine (each test runs once per engine)."""
    yield from make_pair(request.param, source_of(request.param))


@pytest.fixture
def pg_pair(source_of: Callable[[str], str]) -> Iterator[Pair]:
    yield from make_pair("postgres", source_of("postgres"))
