"""gunicorn entry point: ``gunicorn webapp.wsgi:app`` (settings from the environment)."""

from __future__ import annotations

import atexit
import logging

from webapp.app import create_app

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
app = create_app()
# A worker that stops while degraded makes one last attempt to write its buffered hits.
atexit.register(app.extensions["webapp.store"].close)
