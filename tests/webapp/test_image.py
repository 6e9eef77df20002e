"""The website image: placed in the lab's bucket once (``python -m webapp.image``), shown through
a presigned URL that a bucket-policy deny breaks; on a real moto server over HTTP."""

from __future__ import annotations

import http.server
import json
import threading
import uuid
from collections.abc import Iterator

import boto3
import pytest
import requests

from webapp import image
from webapp.config import load_settings
from webapp.db import ConfigError

REGION = "us-west-2"
PICTURE = b"\x89PNG\r\n\x1a\n a picture"


@pytest.fixture
def bucket(moto_endpoint: str) -> str:
    name = f"lab-website-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    return name


@pytest.fixture
def picture_server() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            kind = "image/png" if self.path == "/lab.png" else "text/html"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.end_headers()
            self.wfile.write(PICTURE)

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def env_for(bucket: str) -> dict[str, str]:
    return {"WEBAPP_IMAGE_BUCKET": bucket, "WEBAPP_IMAGE_KEY": "site.svg", "AWS_REGION": REGION}


def test_default_image_placed_once_then_linked_until_denied(
    bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    assert image.main(env_for(bucket)) == 0
    assert "uploaded from the default image" in capsys.readouterr().out
    s3.put_object(Bucket=bucket, Key="site.svg", Body=b"<svg/>", ContentType="image/svg+xml")
    assert image.main(env_for(bucket)) == 0  # already there: left as it is
    assert "already present" in capsys.readouterr().out
    assert s3.get_object(Bucket=bucket, Key="site.svg")["Body"].read() == b"<svg/>"

    url = image.ImageLink(bucket, "site.svg", REGION).url()
    assert url.split("?")[0].endswith(f"/{bucket}/site.svg")
    assert requests.get(url, timeout=10).content == b"<svg/>"
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReslabInjectDenyRead",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(deny))
    assert requests.get(url, timeout=10).status_code == 403
    s3.delete_bucket_policy(Bucket=bucket)


def test_websiteimage_url_copied_and_a_non_image_refused(
    bucket: str, picture_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {**env_for(bucket), "WEBAPP_IMAGE_URL": f"{picture_server}/page.html"}
    assert image.main(env) == 1
    assert capsys.readouterr().err.strip() == (
        f"ImageError: {picture_server}/page.html is text/html, not an image"
    )
    env["WEBAPP_IMAGE_URL"] = f"{picture_server}/lab.png"
    assert image.main(env) == 0
    placed = boto3.client("s3", region_name=REGION).get_object(Bucket=bucket, Key="site.svg")
    assert (placed["ContentType"], placed["Body"].read()) == ("image/png", PICTURE)


def test_bucket_and_key_go_together() -> None:
    base = {"WEBAPP_DB_URL": "postgresql://u@127.0.0.1:5432/d", "WEBAPP_INSTANCE_ID": "i-1"}
    with pytest.raises(ConfigError, match="WEBAPP_IMAGE_BUCKET and WEBAPP_IMAGE_KEY"):
        load_settings({**base, "WEBAPP_AZ": "a", "WEBAPP_IMAGE_BUCKET": "b"})
    settings = load_settings({**base, "WEBAPP_AZ": "a", **env_for("b")})
    assert (settings.image_bucket, settings.image_key, settings.region) == ("b", "site.svg", REGION)
