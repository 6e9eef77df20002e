"""The Flask app: ``create_app(settings)``; routes ``/``, ``/healthcheck``, ``/api/status``
and ``/nodb`` (the same page without any database access: the benchmark's baseline)."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request

from webapp.config import Settings, load_settings
from webapp.store import Hit, HitStore

LOG = logging.getLogger("webapp")
SAFE_IMAGE_PREFIXES = ("https://", "http://", "/")


def client_ip() -> str:
    """The first ``X-Forwarded-For`` entry when present (set by the load balancer; a client
    can prepend its own, so it is a label, not an identity), else the peer address."""
    forwarded = request.headers.get("X-Forwarded-For", "")
    first = forwarded.split(",", 1)[0].strip()
    return first or request.remote_addr or ""


def safe_image_url(url: str) -> str:
    return url if url.startswith(SAFE_IMAGE_PREFIXES) else ""


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    store = HitStore(
        settings.target,
        resilient=settings.resilient,
        buffer_max=settings.buffer_max,
        retry_seconds=settings.retry_seconds,
        reload_target=settings.reload_target,
    )
    app = Flask(__name__, static_folder=None)
    app.extensions["webapp.store"] = store
    app.extensions["webapp.settings"] = settings
    image_url = safe_image_url(settings.image_url)
    LOG.info(
        "web app on %s (%s, %s), %s mode",
        settings.target.redacted(),
        settings.instance_id,
        settings.az,
        "resilient" if settings.resilient else "fragile",
    )

    def page(recent_hits: int | None, ip: str, agent: str, degraded: bool) -> str:
        return render_template(
            "index.html",
            instance_id=settings.instance_id,
            az=settings.az,
            image_url=image_url,
            recent_hits=recent_hits,
            client_ip=ip,
            user_agent=agent,
            degraded=degraded,
            buffered=store.buffered,
        )

    def no_store(body: str, status: int = 200) -> Response:
        response = Response(body, status=status, mimetype="text/html")
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/")
    def index() -> Response:
        ip, agent = client_ip(), request.headers.get("User-Agent", "")
        hit = Hit.now(ip, agent, settings.instance_id, settings.az)
        try:
            recent = store.record(hit)
        except store.errors:
            # Fragile mode: the classic app's tight coupling, on purpose.
            html = render_template("error.html", instance_id=settings.instance_id, az=settings.az)
            return no_store(html, 500)
        return no_store(page(recent, ip, agent, degraded=recent is None))

    @app.get("/nodb")
    def nodb() -> Response:
        return no_store(page(0, client_ip(), request.headers.get("User-Agent", ""), False))

    @app.get("/healthcheck")
    def healthcheck() -> Response:
        if store.ping():
            return Response("ok\n", status=200, mimetype="text/plain")
        return Response("database unavailable\n", status=503, mimetype="text/plain")

    @app.get("/api/status")
    def status() -> Response:
        recent = store.recent_count()
        return jsonify(
            instance_id=settings.instance_id,
            availability_zone=settings.az,
            resilient=settings.resilient,
            degraded=store.degraded or recent is None,
            recent_hits=recent,
            buffered=store.buffered,
            dropped=store.dropped,
        )

    return app
