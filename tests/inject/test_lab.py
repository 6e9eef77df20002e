"""Finding the lab: --endpoint-url, --local (a running `reslab local up`, else AWS_ENDPOINT_URL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reslab.chaos.errors import LabResourceNotFound
from reslab.chaos.lab import resolve_endpoint
from reslab.localcloud.state import write_state


def test_explicit_endpoint_wins_and_aws_is_none() -> None:
    assert resolve_endpoint("http://127.0.0.1:9/", local=False) == "http://127.0.0.1:9"
    assert resolve_endpoint(None, local=False) is None


def test_local_uses_the_running_local_cloud_then_the_env(
    moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with pytest.raises(LabResourceNotFound, match="no running local cloud"):
        resolve_endpoint(None, local=True)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    assert resolve_endpoint(None, local=True) == "http://127.0.0.1:1"
    write_state(moto_endpoint, tmp_path)  # what `reslab local up` leaves behind (our pid)
    assert resolve_endpoint(None, local=True) == moto_endpoint
