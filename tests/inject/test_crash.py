"""The journal in real processes: SIGTERM (like Ctrl-C) reverts at once; SIGKILL (a crash) leaves
the failure in force and ``reslab recover`` undoes it from the journal; named errors on stderr."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.inject.conftest import AZS, REGION, WORKSHOP, World

WAIT_S = 60.0


def reslab(world: World, journal_dir: Path, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "reslab", *args,
        "--endpoint-url", world.endpoint, "--region", REGION, "--workshop", WORKSHOP,
        "--journal-dir", str(journal_dir),
    ]  # fmt: skip


def env() -> dict[str, str]:
    return {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def start(cmd: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        cmd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for_status(journal_dir: Path, status: str, proc: subprocess.Popen[str]) -> dict:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        for path in journal_dir.glob("*.json"):
            try:
                entry = json.loads(path.read_text())
            except ValueError:
                continue  # never half-written (atomic rename), but be safe
            if entry["status"] == status:
                return entry
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError(f"journal never reached {status}")


def test_sigterm_reverts_immediately(world: World, tmp_path: Path) -> None:
    journal_dir = tmp_path / "journal"
    before = world.snapshot()
    proc = start(reslab(world, journal_dir, "inject", "az", "--az", AZS[0], "--duration", "600"))
    entry = wait_for_status(journal_dir, "injected", proc)
    assert world.snapshot() != before
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 0, err
    assert world.snapshot() == before
    assert json.loads((journal_dir / f"{entry['id']}.json").read_text())["status"] == "reverted"


def test_crash_is_recovered_from_the_journal_and_recover_twice_is_harmless(
    world: World, tmp_path: Path
) -> None:
    journal_dir = tmp_path / "journal"
    before = world.snapshot()
    proc = start(reslab(world, journal_dir, "inject", "s3", "--duration", "600"))
    wait_for_status(journal_dir, "injected", proc)
    proc.kill()  # a crash: no chance to revert
    proc.wait()
    crashed = world.snapshot()
    assert (
        crashed != before and crashed["policies"][world.bucket] != before["policies"][world.bucket]
    )

    for _ in range(2):
        result = subprocess.run(
            reslab(world, journal_dir, "recover", "s3"), env=env(), capture_output=True,
            text=True, timeout=WAIT_S,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert world.snapshot() == before
    assert "nothing to recover" in result.stderr


def test_refusal_is_a_named_error_on_stderr(world: World, tmp_path: Path) -> None:
    before = world.snapshot()
    result = subprocess.run(
        reslab(world, tmp_path, "inject", "instance", "--asg", world.lookalike_asg),
        env=env(), capture_output=True, text=True, timeout=WAIT_S,
    )  # fmt: skip
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("NotLabResource: Auto Scaling group lookalike-asg"), last
    assert world.snapshot() == before
