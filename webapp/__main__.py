"""``python -m webapp --port P [--host 127.0.0.1] [--resilient]``: the app on werkzeug's
threaded development server; prints ``listening on http://HOST:PORT`` once it accepts."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from types import FrameType

from werkzeug.serving import make_server

from webapp.app import create_app
from webapp.config import load_settings
from webapp.db import ConfigError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m webapp", description=__doc__)
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--resilient", action="store_true", help="keep serving while the database is away"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        settings = load_settings(resilient=args.resilient)
    except ConfigError as exc:
        print(f"ConfigError: {exc}", file=sys.stderr)
        return 2
    app = create_app(settings)
    server = make_server(args.host, args.port, app, threaded=True)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(f"listening on http://{args.host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.extensions["webapp.store"].close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
