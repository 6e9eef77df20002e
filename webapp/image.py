"""The website image: a copy in the lab's (private) S3 bucket, shown through presigned URLs.

As in the classic lab, the page's picture is read from the lab's bucket, so that ``reslab
inject s3`` (a bucket-policy deny on ``s3:GetObject``) breaks it where a participant sees it:
the browser's image request gets 403. The bucket stays private; the app signs a GET URL with
its own credentials (the instance role), valid ``EXPIRES_S`` and renewed every ``RENEW_S``.

``python -m webapp.image`` (run by the bootstrap and the local web tier before the app starts)
puts the picture in the bucket when it is not there yet: the lab's ``websiteimage``
(``WEBAPP_IMAGE_URL``) when set, else the image shipped with the app (``DEFAULT_IMAGE``). It
prints one line saying which, and exits 1 with ``ImageError: ...`` if it could not.

Environment: ``WEBAPP_IMAGE_BUCKET``, ``WEBAPP_IMAGE_KEY``, ``AWS_REGION``;
``AWS_ENDPOINT_URL`` is honoured (boto3), as in the local cloud.
"""

from __future__ import annotations

import mimetypes
import os
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULT_IMAGE = Path(__file__).resolve().parent / "static" / "website-image.svg"
EXPIRES_S = 3600
RENEW_S = 300
FETCH_TIMEOUT_S = 20
MAX_BYTES = 10 * 1024 * 1024


class ImageError(Exception):
    """The picture could not be fetched or stored."""


def s3_client(region: str | None) -> Any:
    import boto3
    from botocore.config import Config

    # Virtual-hosted, regional URLs on AWS (botocore falls back to path style for an IP
    # endpoint such as the local cloud's).
    config = Config(signature_version="s3v4", s3={"addressing_style": "virtual"})
    return boto3.client("s3", region_name=region or None, config=config)


class ImageLink:
    """A presigned GET URL for ``s3://bucket/key``, signed again every ``RENEW_S``."""

    def __init__(self, bucket: str, key: str, region: str | None, client: Any = None) -> None:
        self.bucket, self.key, self.region = bucket, key, region
        self._client = client
        self._lock = threading.Lock()
        self._url = ""
        self._signed_at = -float(RENEW_S)

    def url(self) -> str:
        now = time.monotonic()
        if now - self._signed_at < RENEW_S:
            return self._url
        with self._lock:
            if now - self._signed_at >= RENEW_S:
                if self._client is None:
                    self._client = s3_client(self.region)
                self._url = self._client.generate_presigned_url(
                    "get_object",
                    Params={"Bucket": self.bucket, "Key": self.key},
                    ExpiresIn=EXPIRES_S,
                )
                self._signed_at = now
        return self._url


def _exists(s3: Any, bucket: str, key: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        # 403 too: without s3:ListBucket a missing key answers 403, and a deny in force
        # (an injection) must not stop an instance from starting.
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") in (403, 404):
            return False
        raise
    return True


def _fetch(url: str) -> tuple[bytes, str]:
    if not url.startswith(("https://", "http://")):
        raise ImageError(f"WEBAPP_IMAGE_URL {url!r} is not an http(s) URL")
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_S) as answer:  # noqa: S310
            body = answer.read(MAX_BYTES + 1)
            content_type = answer.headers.get_content_type()
    except OSError as exc:
        raise ImageError(f"could not fetch {url}: {exc}") from None
    if len(body) > MAX_BYTES:
        raise ImageError(f"{url} is larger than {MAX_BYTES} bytes")
    if not content_type.startswith("image/"):
        raise ImageError(f"{url} is {content_type}, not an image")
    return body, content_type


def ensure_image(s3: Any, bucket: str, key: str, source_url: str = "") -> str:
    """Upload the picture to ``s3://bucket/key`` unless it is there; returns what was done."""
    if _exists(s3, bucket, key):
        return f"s3://{bucket}/{key} already present"
    if source_url:
        body, content_type = _fetch(source_url)
        origin = source_url
    else:
        body = DEFAULT_IMAGE.read_bytes()
        content_type = mimetypes.guess_type(DEFAULT_IMAGE.name)[0] or "application/octet-stream"
        origin = "the default image"
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
    return f"s3://{bucket}/{key} uploaded from {origin} ({len(body)} bytes, {content_type})"


def main(env: Mapping[str, str] | None = None, s3: Any = None) -> int:
    env = os.environ if env is None else env
    bucket = env.get("WEBAPP_IMAGE_BUCKET", "").strip()
    key = env.get("WEBAPP_IMAGE_KEY", "").strip()
    if not bucket or not key:
        print("ImageError: set WEBAPP_IMAGE_BUCKET and WEBAPP_IMAGE_KEY", file=sys.stderr)
        return 1
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    try:
        done = ensure_image(s3 or s3_client(region), bucket, key, env.get("WEBAPP_IMAGE_URL", ""))
    except ImageError as exc:
        print(f"ImageError: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - boto errors: one line, named
        print(f"ImageError: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"website image: {done}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
