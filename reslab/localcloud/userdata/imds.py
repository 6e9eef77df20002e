"""The instance metadata service shim: IMDSv2 for one instance on ``127.0.0.1:<port>``.

The instance's processes reach it through ``AWS_EC2_METADATA_SERVICE_ENDPOINT`` (what botocore
and the web app's ``webapp.config.instance_identity`` read) instead of 169.254.169.254: a token
from ``PUT /latest/api/token``, then ``GET /latest/meta-data/<path>`` with it (401 without, as
``HttpTokens: required``). Served: ``instance-id``, ``placement/availability-zone``,
``placement/region`` and, for an instance with a profile, ``iam/info`` and the role's
credentials at ``iam/security-credentials/<role>`` (:mod:`.credentials`: what botocore and the
AWS CLI read when the environment has no keys). Not served: user data, tags, network
interfaces; ``curl http://169.254.169.254`` (bootstrap.sh's fallback when it has no region,
which the user data always passes) reaches nothing.
"""

from __future__ import annotations

import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

TOKEN_HEADER = "X-aws-ec2-metadata-token"  # noqa: S105 - a header name
_CREDENTIALS = "iam/security-credentials"


class CredentialSource(Protocol):
    """The instance profile's role as EC2 serves it (``credentials.RoleCredentials``)."""

    role_name: str

    def info(self) -> str: ...

    def document(self) -> str: ...


class MetadataService:
    def __init__(
        self, metadata: dict[str, str], credentials: CredentialSource | None = None
    ) -> None:
        self.metadata = dict(metadata)
        self.credentials = credentials
        self.token = secrets.token_urlsafe(24)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="reslab-imds", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> MetadataService:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(service: MetadataService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:  # noqa: N802 - http.server's name
            if self.path == "/latest/api/token":
                self._reply(200, service.token)
            else:
                self._reply(404, "Not Found")

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.headers.get(TOKEN_HEADER) != service.token:
                self._reply(401, "Unauthorized")
                return
            path = self.path.removeprefix("/latest/meta-data/")
            value = service.metadata.get(path)
            if value is None and service.credentials is not None:
                value = _role_item(service.credentials, path)
            self._reply(404, "Not Found") if value is None else self._reply(200, value)

        def _reply(self, status: int, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    return Handler


def _role_item(credentials: CredentialSource, path: str) -> str | None:
    if path == "iam/info":
        return credentials.info()
    if path in (_CREDENTIALS, f"{_CREDENTIALS}/"):
        return credentials.role_name
    if path == f"{_CREDENTIALS}/{credentials.role_name}":
        return credentials.document()
    return None


def instance_metadata(instance_id: str, availability_zone: str, region: str) -> dict[str, str]:
    return {
        "instance-id": instance_id,
        "placement/availability-zone": availability_zone,
        "placement/region": region,
    }
