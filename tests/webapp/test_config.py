"""Settings from the environment: URL or Secrets Manager secret; identity from env or IMDSv2."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from reslab import dburl as reslab_dburl
from webapp.config import instance_identity, load_settings
from webapp.db import ConfigError, engine_from_name, parse_db_url

URLS = [
    "postgresql://u:p%40ss@db.example:6543/app",
    "postgres://db.example/app",
    "postgresql://postgres:@/postgres?host=/tmp/sock",
    "mysql://root@127.0.0.1:3306/lab",
    "mariadb://u:p@h/lab",
    "mysql+pymysql://u@h:3307/lab",
]
TOKEN = "tok-123"


@pytest.mark.parametrize("url", URLS)
def test_urls_parse_like_reslab(url: str) -> None:
    ours, theirs = parse_db_url(url), reslab_dburl.parse_db_url(url)
    for field in ("engine", "host", "port", "user", "password", "dbname", "socket_dir"):
        assert getattr(ours, field) == getattr(theirs, field)
    assert "p@ss" not in ours.redacted() and "***" in parse_db_url(URLS[0]).redacted()


def test_bad_urls_and_engines() -> None:
    with pytest.raises(ConfigError):
        parse_db_url("sqlite:///x.db")
    with pytest.raises(ConfigError):
        parse_db_url("postgresql://h/")
    assert engine_from_name("aurora-postgresql") == "postgres"
    assert engine_from_name("MariaDB") == "mysql"
    with pytest.raises(ConfigError):
        engine_from_name("oracle-ee")


def test_secret_gives_credentials(moto_endpoint: str) -> None:
    client = boto3.client("secretsmanager", region_name="us-east-2")
    arn = client.create_secret(
        Name=f"rds!db-{uuid.uuid4().hex[:8]}",
        SecretString=json.dumps({"username": "labadmin", "password": "s3cr3t-value"}),
    )["ARN"]
    env = {
        "WEBAPP_DB_SECRET_ARN": arn,
        "WEBAPP_DB_HOST": "lab.cluster.example",
        "WEBAPP_DB_NAME": "lab",
        "WEBAPP_DB_ENGINE": "mysql",
        "WEBAPP_INSTANCE_ID": "i-1",
        "WEBAPP_AZ": "us-east-2b",
        "WEBAPP_RESILIENT": "1",
    }
    settings = load_settings(env)
    target = settings.target
    assert (target.engine, target.host, target.port, target.dbname) == (
        "mysql",
        "lab.cluster.example",
        3306,
        "lab",
    )
    assert (target.user, target.password) == ("labadmin", "s3cr3t-value")
    assert "s3cr3t-value" not in target.redacted() and "s3cr3t-value" not in repr(settings)
    assert settings.resilient and (settings.instance_id, settings.az) == ("i-1", "us-east-2b")


def test_missing_settings_are_named() -> None:
    with pytest.raises(ConfigError, match="WEBAPP_DB_HOST"):
        load_settings({"WEBAPP_DB_SECRET_ARN": "arn:x", "WEBAPP_DB_NAME": "d"})


class FakeImds(BaseHTTPRequestHandler):
    """IMDSv2: a PUT gives a token; metadata GETs without it are refused (401)."""

    DATA = {
        "/latest/meta-data/instance-id": "i-0feedfacecafe0001",
        "/latest/meta-data/placement/availability-zone": "eu-west-1c",
    }

    def do_PUT(self) -> None:  # noqa: N802
        ok = (
            self.path == "/latest/api/token"
            and "X-aws-ec2-metadata-token-ttl-seconds" in self.headers
        )
        self._answer(200 if ok else 400, TOKEN)

    def do_GET(self) -> None:  # noqa: N802
        if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
            self._answer(401, "")
        elif self.path in self.DATA:
            self._answer(200, self.DATA[self.path])
        else:
            self._answer(404, "")

    def _answer(self, status: int, body: str) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def imds() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeImds)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_identity_from_imdsv2(imds: str) -> None:
    env = {"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds}
    assert instance_identity(env) == ("i-0feedfacecafe0001", "eu-west-1c")
    assert instance_identity({**env, "WEBAPP_AZ": "az-env"}) == ("i-0feedfacecafe0001", "az-env")


def test_identity_falls_back_to_unknown() -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    env = {"AWS_EC2_METADATA_SERVICE_ENDPOINT": f"http://127.0.0.1:{port}"}
    assert instance_identity(env) == ("unknown", "unknown")
    assert instance_identity({"AWS_EC2_METADATA_DISABLED": "true"}) == ("unknown", "unknown")
    assert instance_identity({"WEBAPP_INSTANCE_ID": "i-9", "WEBAPP_AZ": "a"}) == ("i-9", "a")


BASE_ENV = {"WEBAPP_DB_URL": "postgresql://h/app", "AWS_EC2_METADATA_DISABLED": "true"}


@pytest.mark.parametrize(
    ("extra", "resilient"),
    [
        ({}, False),
        ({"WEBAPP_MODE": "fragile"}, False),
        ({"WEBAPP_MODE": " Resilient "}, True),
        ({"WEBAPP_RESILIENT": "1"}, True),
        ({"WEBAPP_MODE": "resilient", "WEBAPP_RESILIENT": "1"}, True),
    ],
)
def test_mode_from_the_environment(extra: dict[str, str], resilient: bool) -> None:
    settings = load_settings({**BASE_ENV, **extra, "WEBAPP_WORKSHOP": " Lab 7 "})
    assert settings.resilient is resilient
    assert settings.mode == ("resilient" if resilient else "fragile")
    assert settings.workshop == "Lab 7"


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"WEBAPP_MODE": "robust"}, "WEBAPP_MODE must be fragile or resilient, not 'robust'"),
        ({"WEBAPP_MODE": "fragile", "WEBAPP_RESILIENT": "yes"}, "contradicts WEBAPP_RESILIENT"),
        ({"WEBAPP_BUFFER_MAX": "lots"}, "WEBAPP_BUFFER_MAX must be a positive number"),
        ({"WEBAPP_RETRY_SECONDS": "-1"}, "WEBAPP_RETRY_SECONDS must be a positive number"),
    ],
)
def test_bad_settings_are_named(extra: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_settings({**BASE_ENV, **extra})
