"""``python -m webapp.serve [--bind HOST:PORT]``: the web app as the instances serve it.

granian (an HTTP server written in Rust) calls the WSGI app ``webapp.wsgi:app`` from
``WEBAPP_THREADS`` threads (default 32) in each of ``WEBAPP_WORKERS`` processes (default 2).
Chosen by measurement (``python -m bench webapp``, docs/webapp.md): side by side with
gunicorn's gthread workers on the same app it answered about twice the requests per second
for half the CPU per request. Many threads, because a request spends most of its time
waiting for its group commit (``webapp.writer``), and the more requests wait together, the
more hits one commit carries.

Without granian installed it runs gunicorn with ``webapp.gunicorn_conf`` (same counts) and
says so; ``gunicorn webapp.wsgi:app`` keeps working too.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Mapping

from webapp.config import positive_number
from webapp.db import ConfigError

APP = "webapp.wsgi:app"


def counts(env: Mapping[str, str]) -> tuple[int, int]:
    """(workers, threads per worker) from ``WEBAPP_WORKERS`` / ``WEBAPP_THREADS``."""
    workers = positive_number(env, "WEBAPP_WORKERS", int, 2)
    threads = positive_number(env, "WEBAPP_THREADS", int, 32)
    return workers, threads


def command(host: str, port: int, server: str | None = None) -> list[str]:
    """The server's command line; ``server`` is granian (when installed) or gunicorn."""
    server = server or ("granian" if importlib.util.find_spec("granian") else "gunicorn")
    workers, threads = counts(os.environ)
    if server == "granian":
        return [
            sys.executable, "-m", "granian", "--interface", "wsgi",
            "--host", host, "--port", str(port),
            "--workers", str(workers), "--blocking-threads", str(threads),
            "--backlog", "1024", "--log-level", "warning", APP,
        ]  # fmt: skip
    return [
        sys.executable, "-m", "gunicorn", "--config", "python:webapp.gunicorn_conf",
        "--bind", f"{host}:{port}", APP,
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m webapp.serve", description=__doc__)
    parser.add_argument("--bind", default="0.0.0.0:80", help="HOST:PORT (default %(default)s)")
    parser.add_argument("--server", choices=("granian", "gunicorn"), default=None)
    args = parser.parse_args(argv)
    host, _, port = args.bind.rpartition(":")
    if not host or not port.isdigit():
        parser.error(f"--bind must be HOST:PORT, not {args.bind!r}")
    try:
        cmd = command(host, int(port), args.server)
    except ConfigError as exc:
        print(f"ConfigError: {exc}", file=sys.stderr)
        return 2
    print(f"serving {APP} on {args.bind} with {cmd[2]}", file=sys.stderr, flush=True)
    os.execv(sys.executable, cmd)  # noqa: S606 (our own interpreter, fixed arguments)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
