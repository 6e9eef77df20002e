"""Runtime settings from the environment (same variables on EC2 and locally).

- ``WEBAPP_DB_URL``: full database URL (local mode), or
- ``WEBAPP_DB_SECRET_ARN`` + ``WEBAPP_DB_HOST`` + ``WEBAPP_DB_PORT`` + ``WEBAPP_DB_NAME`` +
  ``WEBAPP_DB_ENGINE``: on EC2; user and password come from the Secrets Manager secret
  (JSON with ``username`` and ``password``), read once at start, never logged.
- ``WEBAPP_INSTANCE_ID`` / ``WEBAPP_AZ``: else read from instance metadata (IMDSv2), else
  ``unknown``.
- ``WEBAPP_IMAGE_BUCKET`` + ``WEBAPP_IMAGE_KEY``: the picture shown on the page, read from the
  lab's S3 bucket through a presigned URL (what ``reslab inject s3`` breaks; see
  ``webapp.image``); region ``AWS_REGION``.
- ``WEBAPP_IMAGE_URL``: without a bucket, the picture's URL as is; with one, where
  ``python -m webapp.image`` copies it from (the lab's ``websiteimage``).
- ``WEBAPP_WORKSHOP``: the lab (workshop) name shown on the page.
- ``WEBAPP_MODE``: ``fragile`` (default) or ``resilient`` (keep serving while the database is
  away, see ``webapp.store``); ``WEBAPP_RESILIENT=1`` is the older spelling of the latter.
- ``WEBAPP_BUFFER_MAX`` (default 10000), ``WEBAPP_RETRY_SECONDS`` (default 1.0): resilient
  mode's buffer bound and reconnect interval.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from webapp.db import ConfigError, DbTarget, engine_from_name, parse_db_url

IMDS_DEFAULT = "http://169.254.169.254"
IMDS_TIMEOUT_S = 1.0
UNKNOWN = "unknown"
TOKEN_HEADER = "X-aws-ec2-metadata-token"  # noqa: S105 (a header name)
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})


MODES = ("fragile", "resilient")


@dataclass(frozen=True)
class Settings:
    target: DbTarget
    instance_id: str
    az: str
    image_url: str
    resilient: bool
    workshop: str = ""
    image_bucket: str = ""
    image_key: str = ""
    region: str = ""
    buffer_max: int = 10_000
    retry_seconds: float = 1.0
    # Re-reads the credentials (the secret rotates: RDS-managed master secrets every 7 days);
    # None when they come from WEBAPP_DB_URL.
    reload_target: Callable[[], DbTarget] | None = field(default=None, compare=False)

    @property
    def mode(self) -> str:
        return "resilient" if self.resilient else "fragile"


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in TRUE_WORDS


def resilient_mode(env: Mapping[str, str], *, forced: bool = False) -> bool:
    """``WEBAPP_MODE`` (fragile | resilient), ``WEBAPP_RESILIENT=1``, or ``--resilient``."""
    mode = (env.get("WEBAPP_MODE") or "").strip().lower()
    if mode and mode not in MODES:
        raise ConfigError(f"WEBAPP_MODE must be fragile or resilient, not {mode!r}")
    if mode == "fragile" and _flag(env.get("WEBAPP_RESILIENT")):
        raise ConfigError("WEBAPP_MODE=fragile contradicts WEBAPP_RESILIENT=1: set one of them")
    return forced or mode == "resilient" or _flag(env.get("WEBAPP_RESILIENT"))


def read_secret(secret_arn: str) -> tuple[str, str]:
    """(username, password) from a Secrets Manager secret; region taken from the ARN."""
    import boto3

    parts = secret_arn.split(":")
    region = parts[3] if len(parts) > 6 and parts[3] else None
    client = boto3.client("secretsmanager", region_name=region)
    secret = json.loads(client.get_secret_value(SecretId=secret_arn)["SecretString"])
    return str(secret["username"]), str(secret["password"])


def db_target(env: Mapping[str, str]) -> DbTarget:
    """The database to use: ``WEBAPP_DB_URL``, else host/port/name/engine + the secret."""
    url = env.get("WEBAPP_DB_URL")
    if url:
        return parse_db_url(url)
    missing = [
        name
        for name in ("WEBAPP_DB_SECRET_ARN", "WEBAPP_DB_HOST", "WEBAPP_DB_NAME", "WEBAPP_DB_ENGINE")
        if not env.get(name)
    ]
    if missing:
        raise ConfigError(
            "set WEBAPP_DB_URL, or WEBAPP_DB_SECRET_ARN with WEBAPP_DB_HOST/PORT/NAME/ENGINE "
            f"(missing: {', '.join(missing)})"
        )
    engine = engine_from_name(env["WEBAPP_DB_ENGINE"])
    user, password = read_secret(env["WEBAPP_DB_SECRET_ARN"])
    port = env.get("WEBAPP_DB_PORT") or ("5432" if engine == "postgres" else "3306")
    return DbTarget(
        engine=engine,
        host=env["WEBAPP_DB_HOST"],
        port=int(port),
        user=user,
        password=password,
        dbname=env["WEBAPP_DB_NAME"],
    )


def _imds(base: str, path: str, headers: dict[str, str], method: str = "GET") -> str:
    if not base.startswith(("http://", "https://")):
        raise ValueError(f"instance metadata endpoint must be http(s): {base!r}")
    request = urllib.request.Request(f"{base}/latest/{path}", headers=headers, method=method)  # noqa: S310
    with urllib.request.urlopen(request, timeout=IMDS_TIMEOUT_S) as response:  # noqa: S310
        return response.read().decode().strip()


def instance_identity(env: Mapping[str, str]) -> tuple[str, str]:
    """(instance id, AZ) from the env, else IMDSv2 (short timeout), else ``unknown``."""
    instance_id = env.get("WEBAPP_INSTANCE_ID") or ""
    az = env.get("WEBAPP_AZ") or ""
    if (not instance_id or not az) and not _flag(env.get("AWS_EC2_METADATA_DISABLED")):
        base = (env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT") or IMDS_DEFAULT).rstrip("/")
        try:
            token = _imds(base, "api/token", {TTL_HEADER: "300"}, method="PUT")
            auth = {TOKEN_HEADER: token}
            instance_id = instance_id or _imds(base, "meta-data/instance-id", auth)
            az = az or _imds(base, "meta-data/placement/availability-zone", auth)
        except (OSError, ValueError):
            pass
    return instance_id or UNKNOWN, az or UNKNOWN


def positive_number(
    env: Mapping[str, str], name: str, kind: type[int] | type[float], default: float
) -> Any:
    raw = (env.get(name) or "").strip()
    try:
        value = kind(raw) if raw else kind(default)
    except ValueError:
        raise ConfigError(f"{name} must be a positive number, not {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be a positive number, not {raw!r}")
    return value


def load_settings(env: Mapping[str, str] | None = None, *, resilient: bool = False) -> Settings:
    env = dict(os.environ if env is None else env)
    mode_resilient = resilient_mode(env, forced=resilient)
    buffer_max = positive_number(env, "WEBAPP_BUFFER_MAX", int, 10_000)
    retry_seconds = positive_number(env, "WEBAPP_RETRY_SECONDS", float, 1.0)
    target = db_target(env)
    instance_id, az = instance_identity(env)
    from_secret = not env.get("WEBAPP_DB_URL")
    image_bucket = env.get("WEBAPP_IMAGE_BUCKET", "").strip()
    image_key = env.get("WEBAPP_IMAGE_KEY", "").strip()
    if bool(image_bucket) != bool(image_key):
        raise ConfigError("WEBAPP_IMAGE_BUCKET and WEBAPP_IMAGE_KEY go together: set both or none")
    return Settings(
        target=target,
        instance_id=instance_id,
        az=az,
        image_url=env.get("WEBAPP_IMAGE_URL", "").strip(),
        resilient=mode_resilient,
        workshop=env.get("WEBAPP_WORKSHOP", "").strip(),
        image_bucket=image_bucket,
        image_key=image_key,
        region=(env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "").strip(),
        buffer_max=buffer_max,
        retry_seconds=retry_seconds,
        reload_target=(lambda: db_target(env)) if from_secret else None,
    )
