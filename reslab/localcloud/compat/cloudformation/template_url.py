"""``TemplateURL`` pointing at the local cloud's own S3 by IP address.

``aws cloudformation deploy --s3-bucket B`` (needed for templates over 51,200 bytes, like the
installer) uploads the template and passes its URL as the client built it from the endpoint:
``http://127.0.0.1:PORT/B/key``. moto 5.2.5 reads the bucket path-style only for ``localhost``
and ``s3*.amazonaws.com`` hosts, so it took ``127`` as the bucket (NoSuchBucket). Any loopback
host now means path-style, as it does for ``localhost``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

_installed = False


def _loopback(host: str) -> bool:
    return host.startswith("127.") or host in ("::1", "[::1]")


def as_localhost(url: str) -> str:
    """The same URL with a loopback IP host spelt ``localhost`` (moto's path-style cue)."""
    parts = urlsplit(url)
    if not _loopback(parts.hostname or ""):
        return url
    netloc = "localhost" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.cloudformation import models, responses, utils

    original = utils.get_stack_from_s3_url

    def get_stack_from_s3_url(template_url: str, *args: Any, **kwargs: Any) -> str:
        return original(as_localhost(template_url), *args, **kwargs)

    for module in (utils, models, responses):
        module.get_stack_from_s3_url = get_stack_from_s3_url  # type: ignore[attr-defined]
    _installed = True
