"""Fleet/sweep tests share the session's local cloud (tests/conftest.py); names are unique.
The trainer's role each target row names: ``reslab.localcloud.testing.trainer_role``."""

from __future__ import annotations

import logging
from typing import Any

import pytest


@pytest.fixture(scope="session")
def cloud(local_cloud: Any) -> Any:
    logging.getLogger("moto").setLevel(logging.CRITICAL)  # failure tests log whole programs
    return local_cloud
