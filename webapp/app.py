"""The Flask app: ``create_app(settings)``; routes ``/``, ``/healthcheck``, ``/api/status``
and ``/nodb`` (the same page without any database access: the benchmark's baseline)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request

from webapp.config import Settings, load_settings
from webapp.hit import Hit, header_text
from webapp.recent import MAX_AGE_S
from webapp.store import DatabaseUnavailable, HitStore

LOG = logging.getLogger("webapp")
SAFE_IMAGE_PREFIXES = ("https://", "http://", "/")
NO_STORE = {"Cache-Control": "no-store"}


def client_ip() -> str:
    """The first ``X-Forwarded-For`` entry when present (set by the load balancer; a client
    can prepend its own, so it is a label, not an identity), else the peer address."""
    forwarded = header_text(request.headers.get("X-Forwarded-For", ""))
    first = forwarded.split(",", 1)[0].strip()
    return first or request.remote_addr or ""


def user_agent() -> str:
    return header_text(request.headers.get("User-Agent", ""))


def safe_image_url(url: str) -> str:
    return url if url.startswith(SAFE_IMAGE_PREFIXES) else ""


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    store = HitStore(
        settings.target,
        instance_id=settings.instance_id,
        resilient=settings.resilient,
        buffer_max=settings.buffer_max,
        retry_seconds=settings.retry_seconds,
        reload_target=settings.reload_target,
    )
    app = Flask(__name__, static_folder=None)
    app.extensions["webapp.store"] = store
    app.extensions["webapp.settings"] = settings
    # What every page shows, fixed for the life of the process: computed once.
    lab = {
        "instance_id": settings.instance_id,
        "az": settings.az,
        "workshop": settings.workshop,
        "mode": settings.mode,
        "image_url": safe_image_url(settings.image_url),
        "max_age_s": MAX_AGE_S,
    }
    index_page = app.jinja_env.get_template("index.html")
    error_page = app.jinja_env.get_template("error.html")
    LOG.info(
        "web app on %s (%s, %s), %s mode",
        settings.target.redacted(),
        settings.instance_id,
        settings.az,
        settings.mode,
    )

    def page(recent_hits: int | None, degraded: bool, ip: str, agent: str) -> Response:
        html = index_page.render(
            lab,
            recent_hits=recent_hits,
            client_ip=ip,
            user_agent=agent,
            degraded=degraded,
            buffered=store.buffered,
        )
        return Response(html, mimetype="text/html", headers=NO_STORE)

    @app.get("/")
    def index() -> Response:
        ip, agent = client_ip(), user_agent()
        hit = Hit.now(ip, agent, settings.instance_id, settings.az)
        try:
            recorded = store.record(hit)
        except DatabaseUnavailable:
            # Fragile mode: the classic app's tight coupling, on purpose.
            html = error_page.render(lab)
            return Response(html, status=500, mimetype="text/html", headers=NO_STORE)
        return page(recorded.recent_hits, recorded.buffered, ip, agent)

    @app.get("/nodb")
    def nodb() -> Response:
        return page(0, False, client_ip(), user_agent())

    @app.get("/healthcheck")
    def healthcheck() -> Response:
        if store.ping():
            return Response("ok\n", status=200, mimetype="text/plain")
        return Response("database unavailable\n", status=503, mimetype="text/plain")

    @app.get("/api/status")
    def status() -> Response:
        recent = store.recent_count()
        bad = store.bad_rows
        body: dict[str, Any] = {
            "instance_id": settings.instance_id,
            "availability_zone": settings.az,
            "workshop": settings.workshop,
            "mode": settings.mode,
            "resilient": settings.resilient,
            "image_url": lab["image_url"],
            "degraded": store.degraded or recent is None,
            "recent_hits": recent,
            "buffered": store.buffered,
            "dropped": store.dropped,
            "bad_rows": {"sanitised": bad.sanitised, "dropped": bad.dropped},
        }
        return jsonify(body)

    return app
