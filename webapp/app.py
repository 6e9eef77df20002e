"""The Flask app: ``create_app(settings)``; routes ``/``, ``/healthcheck``, ``/api/status``
and ``/nodb`` (the same page without any database access).

``GET /`` (every visit) is answered by a plain WSGI function placed ahead of Flask: a visit
is the path measured against the classic app, and Flask's per-request machinery (request
context, URL matching, signals) was about a tenth of its answer time. The other routes are
ordinary Flask views.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, jsonify, request

from webapp.config import Settings, load_settings
from webapp.hit import Hit, header_text
from webapp.image import ImageLink
from webapp.recent import STALENESS_S
from webapp.store import DatabaseUnavailable, HitStore

LOG = logging.getLogger("webapp")
SAFE_IMAGE_PREFIXES = ("https://", "http://", "/")
HTML_HEADERS = [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")]
Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def visitor(environ: dict[str, Any]) -> tuple[str, str]:
    """(client IP, user agent). The IP is the first ``X-Forwarded-For`` entry when present
    (set by the load balancer; a client can prepend its own, so it is a label, not an
    identity), else the peer address."""
    forwarded = header_text(environ.get("HTTP_X_FORWARDED_FOR", ""))
    first = forwarded.split(",", 1)[0].strip()
    ip = first or environ.get("REMOTE_ADDR") or ""
    return ip, header_text(environ.get("HTTP_USER_AGENT", ""))


def safe_image_url(url: str) -> str:
    return url if url.startswith(SAFE_IMAGE_PREFIXES) else ""


class Pages:
    """The HTML pages, their templates compiled once and what they show of the lab fixed."""

    def __init__(self, app: Flask, settings: Settings, store: HitStore) -> None:
        self.settings = settings
        self.store = store
        self.image_link = (
            ImageLink(settings.image_bucket, settings.image_key, settings.region or None)
            if settings.image_bucket
            else None
        )
        self.lab = {
            "instance_id": settings.instance_id,
            "az": settings.az,
            "workshop": settings.workshop,
            "mode": settings.mode,
            "image_url": safe_image_url(settings.image_url),
            "staleness_s": STALENESS_S,
        }
        self.index = app.jinja_env.get_template("index.html")
        self.error = app.jinja_env.get_template("error.html")

    def image_url(self) -> str:
        """The picture's URL: presigned from the lab's bucket, else WEBAPP_IMAGE_URL; empty
        when it cannot be signed (no credentials), so the page is served all the same."""
        if self.image_link is None:
            return str(self.lab["image_url"])
        try:
            return self.image_link.url()
        except Exception:  # noqa: BLE001 - a page without its picture, never a 500 for it
            LOG.exception("cannot sign the website image URL")
            return ""

    def page(self, environ: dict[str, Any], recent_hits: int | None, degraded: bool) -> str:
        ip, agent = visitor(environ)
        return self.index.render(
            self.lab,
            image_url=self.image_url(),
            recent_hits=recent_hits,
            client_ip=ip,
            user_agent=agent,
            degraded=degraded,
            buffered=self.store.buffered,
        )

    def visit(self, environ: dict[str, Any]) -> tuple[str, str]:
        """Write the visit's hit, then (status, HTML)."""
        ip, agent = visitor(environ)
        hit = Hit.now(ip, agent, self.settings.instance_id, self.settings.az)
        try:
            recorded = self.store.record(hit)
        except DatabaseUnavailable:
            # Fragile mode: the classic app's tight coupling, on purpose.
            return "500 INTERNAL SERVER ERROR", self.error.render(self.lab)
        return "200 OK", self.page(environ, recorded.recent_hits, recorded.buffered)


def visits_first(pages: Pages, flask_wsgi: Wsgi) -> Wsgi:
    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/":
            return flask_wsgi(environ, start_response)
        method = environ.get("REQUEST_METHOD")
        if method not in ("GET", "HEAD"):
            start_response("405 METHOD NOT ALLOWED", [("Allow", "GET, HEAD")])
            return []
        status, html = pages.visit(environ)
        body = html.encode()
        start_response(status, [*HTML_HEADERS, ("Content-Length", str(len(body)))])
        return [] if method == "HEAD" else [body]

    return wsgi


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
    pages = Pages(app, settings, store)
    app.wsgi_app = visits_first(pages, app.wsgi_app)  # type: ignore[method-assign]
    LOG.info(
        "web app on %s (%s, %s), %s mode",
        settings.target.redacted(),
        settings.instance_id,
        settings.az,
        settings.mode,
    )

    @app.get("/nodb")
    def nodb() -> Response:
        html = pages.page(request.environ, 0, degraded=False)
        return Response(html, mimetype="text/html", headers={"Cache-Control": "no-store"})

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
            "image_url": pages.image_url(),
            "degraded": store.degraded or recent is None,
            "recent_hits": recent,
            "buffered": store.buffered,
            "dropped": store.dropped,
            "bad_rows": {"sanitised": bad.sanitised, "dropped": bad.dropped},
        }
        return jsonify(body)

    return app
