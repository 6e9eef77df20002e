"""The real entry points serve: ``python -m webapp`` and gunicorn ``webapp.wsgi:app``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.webapp.support import AZ, INSTANCE_ID, query

BIN = Path(sys.executable).parent
WAIT_S = 30.0


def app_env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBAPP_")}
    env.update(WEBAPP_DB_URL=url, WEBAPP_INSTANCE_ID=INSTANCE_ID, WEBAPP_AZ=AZ, **extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(cmd: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_http(url: str, proc: subprocess.Popen[str]) -> requests.Response:
    deadline = time.monotonic() + WAIT_S
    while True:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            return requests.get(url, timeout=5)
        except requests.ConnectionError:
            assert time.monotonic() < deadline, f"{url} never answered"
            time.sleep(0.1)


def test_python_m_webapp_prints_address_and_serves(app_db: str) -> None:
    cmd = [sys.executable, "-m", "webapp", "--port", "0", "--resilient"]
    with running(cmd, app_env(app_db)) as proc:
        assert proc.stdout is not None
        line = ""
        while not line.startswith("listening on "):
            line = proc.stdout.readline()
            assert line or proc.poll() is None, "exited before listening"
        base = line.split()[-1]
        assert base.startswith("http://127.0.0.1:")
        page = requests.get(base + "/", timeout=10)
        status = requests.get(base + "/api/status", timeout=10).json()
    assert page.status_code == 200 and INSTANCE_ID in page.text
    assert status["resilient"] is True and status["recent_hits"] == 1
    assert proc.returncode == 0  # SIGTERM is a clean stop


def test_python_m_webapp_without_config_fails_clearly() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBAPP_")}
    result = subprocess.run(
        [sys.executable, "-m", "webapp", "--port", "0"],
        env={**env, "AWS_EC2_METADATA_DISABLED": "true"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("ConfigError: ")


def test_gunicorn_serves_wsgi_app(app_db: str) -> None:
    port = free_port()
    cmd = [
        str(BIN / "gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--worker-class",
        "gthread",
        "--threads",
        "2",
        "webapp.wsgi:app",
    ]
    with running(cmd, app_env(app_db)) as proc:
        health = wait_http(f"http://127.0.0.1:{port}/healthcheck", proc)
        pages = [requests.get(f"http://127.0.0.1:{port}/", timeout=10) for _ in range(4)]
    assert health.status_code == 200
    assert [p.status_code for p in pages] == [200] * 4
    assert query(app_db, "SELECT COUNT(*) FROM hits") == [(4,)]


def test_webapp_imports_nothing_from_reslab() -> None:
    """The bundle ships to EC2 without the reslab package."""
    import ast

    root = Path(__file__).resolve().parents[2] / "webapp"
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(n.split(".")[0] == "reslab" for n in names), path


def test_webapp_serve_serves_the_wsgi_app(app_db: str) -> None:
    """The instances' entry point (granian when installed, else gunicorn), for real."""
    port = free_port()
    cmd = [sys.executable, "-m", "webapp.serve", "--bind", f"127.0.0.1:{port}"]
    env = app_env(app_db, WEBAPP_WORKERS="1", WEBAPP_THREADS="4", WEBAPP_MODE="resilient")
    with running(cmd, env) as proc:
        health = wait_http(f"http://127.0.0.1:{port}/healthcheck", proc)
        pages = [requests.get(f"http://127.0.0.1:{port}/", timeout=10) for _ in range(3)]
        status = requests.get(f"http://127.0.0.1:{port}/api/status", timeout=10).json()
    assert health.status_code == 200
    assert [p.status_code for p in pages] == [200] * 3
    assert (status["mode"], status["recent_hits"]) == ("resilient", 3)
    assert query(app_db, "SELECT COUNT(*) FROM hits") == [(3,)]


def test_webapp_serve_refuses_a_bad_bind() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "webapp.serve", "--bind", "nowhere"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--bind must be HOST:PORT, not 'nowhere'" in result.stderr


def test_webapp_serve_names_a_bad_count() -> None:
    env = {**os.environ, "WEBAPP_THREADS": "many"}
    result = subprocess.run(
        [sys.executable, "-m", "webapp.serve", "--bind", "127.0.0.1:1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip() == "ConfigError: WEBAPP_THREADS must be a positive number, not 'many'"
    )
