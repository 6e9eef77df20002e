"""Clients for one target: an assumed role (one session name per target), a profile, or the
local cloud (whose STS accepts any role ARN of its account).

Each target gets its own ``boto3.Session`` (sessions are not thread-safe) and a small client
cache, so the threads of a fleet run never share one.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.loaders import create_loader

from reslab.fleet.errors import TargetCredentials
from reslab.fleet.targets import Target
from reslab.localcloud.server import caller_keys

#: moto's default account: locally every target must live there (the Lambdas' fake credentials
#: act in it), so role ARNs of other accounts are refused.
LOCAL_ACCOUNT = "123456789012"
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8})
ASSUME_SECONDS = 3600
#: Service models parsed once for every target's session (read-only; saves ~0.2 s per target).
_LOADER = create_loader()


def _session(**kwargs: Any) -> boto3.session.Session:
    session = boto3.session.Session(**kwargs)
    session._session.register_component("data_loader", _LOADER)  # noqa: SLF001
    return session


class TargetClients:
    """``clients(service, region)`` for one target; cached, safe to call from its thread."""

    def __init__(self, session: boto3.session.Session, endpoint_url: str | None = None) -> None:
        self.session, self.endpoint_url = session, endpoint_url
        self._cache: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def __call__(self, service: str, region: str) -> Any:
        with self._lock:
            key = (service, region)
            if key not in self._cache:
                self._cache[key] = self.session.client(
                    service, region_name=region, endpoint_url=self.endpoint_url, config=_CONFIG
                )
            return self._cache[key]


def _assume(sts: Any, target: Target) -> dict[str, str]:
    try:
        creds = sts.assume_role(
            RoleArn=target.role_arn,
            RoleSessionName=target.session_name(),
            DurationSeconds=ASSUME_SECONDS,
        )["Credentials"]
    except (ClientError, BotoCoreError) as exc:
        raise TargetCredentials(f"cannot assume {target.role_arn}: {exc}") from None
    return {
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }


def target_clients(
    target: Target, endpoint_url: str | None = None, base_profile: str | None = None
) -> TargetClients:
    """The target's client factory. ``endpoint_url`` set = the local cloud."""
    if endpoint_url is not None:
        if target.role_arn and target.account != LOCAL_ACCOUNT:
            raise TargetCredentials(
                f"local cloud: role_arn must be in account {LOCAL_ACCOUNT}, not {target.account}"
            )
        # the caller's keys (an IAM user's or role session's of the local cloud), else the root
        # user's: assuming a target role is authorized against the caller, as on AWS
        base = _session(region_name=target.region, **caller_keys())
        if not target.role_arn:  # a profile means nothing locally: same fake account
            return TargetClients(base, endpoint_url)
        sts = base.client("sts", region_name=target.region, endpoint_url=endpoint_url)
        return TargetClients(
            _session(region_name=target.region, **_assume(sts, target)), endpoint_url
        )
    try:
        if target.profile:
            return TargetClients(_session(profile_name=target.profile))
        base = _session(profile_name=base_profile)
        sts = base.client("sts", region_name=target.region, config=_CONFIG)
        return TargetClients(_session(**_assume(sts, target)))
    except BotoCoreError as exc:  # ProfileNotFound, NoCredentialsError...
        raise TargetCredentials(f"row {target.row}: {exc}") from None
