"""Every principal acts with its own credentials (gap 41 of docs/local-cloud.md).

moto 5.2.5 runs Lambdas with whatever credentials the runner passes (the local cloud passed
``testing``) and signs every call of the Step Functions interpreter with ``ak``/``sk``: to the
authorizer (``compat.iam_enforce``) both are the account's root user. As on AWS:

* a Lambda invocation gets temporary credentials of its execution role: the service
  ``lambda.amazonaws.com`` assumes the role (its trust policy must allow it, else the invocation
  fails as AWS's ``CreateFunction`` would have), and the session's keys are exported as
  ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``;
* the Lambda runtime writes an invocation's logs with that session (``logs:CreateLogStream``,
  ``logs:PutLogEvents`` on the function's log group, ``operations.LAMBDA_RUNTIME``, gap 73): a
  role without them loses its logs, as on AWS, and the denial is in the access log;
* a state machine's tasks (``aws-sdk:*``, ``lambda:invoke``, function ARNs,
  ``states:startExecution``) call with a session of the machine's role (or the state's
  ``Credentials.RoleArn``) assumed by ``states.amazonaws.com``;
* a web instance gets a session of its instance profile's role assumed by ``ec2.amazonaws.com``,
  served by its metadata service (``userdata/credentials.py``).

Sessions are cached per (service, role, session name) and renewed :data:`RENEW_BEFORE` before
they expire; the credentials are part of a Lambda environment's identity, so a warm environment
is recycled when its role's session is renewed, as on AWS.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import threading
from collections.abc import Callable
from typing import Any

from reslab.iam.evaluate import Principal
from reslab.iam.operations import LAMBDA_RUNTIME
from reslab.iam.state import Where
from reslab.localcloud import serialise, sfn_clients
from reslab.localcloud.compat import iam_enforce

#: A session is renewed this long before it expires.
RENEW_BEFORE = datetime.timedelta(minutes=5)
SESSION_SECONDS = 3600
#: The session name of a state machine's calls (AWS names it after the execution; one session
#: per role here keeps the cache small).
_SFN_SESSION = "reslab-states"
_installed = False
_sessions: dict[tuple[str, str, str], Any] = {}
_sessions_lock = threading.Lock()


class RoleNotAssumable(Exception):
    """The role's trust policy does not let the service assume it (or the role is gone)."""


def _now() -> datetime.datetime:
    from moto.core.utils import utcnow

    return utcnow()


def locked() -> contextlib.AbstractContextManager[None]:
    """moto's state is read under the request lock (taken here outside a request)."""
    return contextlib.nullcontext() if serialise.held() else serialise.serialised()


def session_for(service: str, role_arn: str, session_name: str, region: str) -> Any:
    """A cached (renewed when near expiry) STS session of ``role_arn`` assumed by ``service``
    (``lambda.amazonaws.com``...): moto's ``AssumedRole``. Raises :class:`RoleNotAssumable`."""
    from moto.sts.models import sts_backends
    from moto.utilities.utils import get_partition

    parts = role_arn.split(":")
    if len(parts) < 6 or parts[2] != "iam":
        raise RoleNotAssumable(f"not a role ARN: {role_arn}")
    account, partition = parts[4], get_partition(region)
    where = Where(account, region, partition)
    key = (service, role_arn, session_name)
    with locked():
        with _sessions_lock:
            cached = _sessions.get(key)
        if (
            cached is not None
            and cached.expiration - RENEW_BEFORE > _now()
            and cached in sts_backends[account][partition].assumed_roles  # not reset since
        ):
            return cached
        denied = iam_enforce.decide(
            "sts",
            "AssumeRole",
            {"RoleArn": role_arn, "RoleSessionName": session_name},
            Principal.service(service, account),
            where,
        )
        if denied is not None:
            raise RoleNotAssumable(f"{service} cannot assume {role_arn}")
        session = sts_backends[account][partition].assume_role(
            region_name=region,
            role_session_name=session_name,
            role_arn=role_arn,
            policy=None,
            duration=SESSION_SECONDS,
            external_id=None,
        )
    with _sessions_lock:
        _sessions[key] = session
    return session


# --- Lambda ------------------------------------------------------------------------------------
def lambda_credentials(fn: Any) -> dict[str, str]:
    """The environment variables of the function's execution-role session."""
    try:
        session = session_for("lambda.amazonaws.com", fn.role, fn.function_name, fn.region)
    except RoleNotAssumable:
        from moto.awslambda.exceptions import InvalidParameterValueException

        raise InvalidParameterValueException(
            "The role defined for the function cannot be assumed by Lambda."
        ) from None
    return {
        "AWS_ACCESS_KEY_ID": session.access_key_id,
        "AWS_SECRET_ACCESS_KEY": session.secret_access_key,
        "AWS_SESSION_TOKEN": session.session_token,
    }


def _patch_lambda_config() -> None:
    from reslab.localcloud import lambda_exec

    original: Callable[..., Any] = lambda_exec.function_config

    def function_config(fn: Any, directory: Any) -> Any:
        config = original(fn, directory)
        if not iam_enforce.enforcement.enabled:
            return config
        credentials = lambda_credentials(fn)
        identity = hashlib.sha256(
            f"{config.identity}:{credentials['AWS_ACCESS_KEY_ID']}".encode()
        ).hexdigest()
        return dataclasses.replace(config, identity=identity, env={**config.env, **credentials})

    lambda_exec.function_config = function_config  # type: ignore[assignment]


def _patch_lambda_logs() -> None:
    from reslab.localcloud import lambda_exec

    original: Callable[..., None] = lambda_exec.save_logs

    def save_logs(fn: Any, stream: str, logs: str) -> None:
        if iam_enforce.enforcement.enabled:
            from moto.utilities.utils import get_partition

            where = Where(fn.account_id, fn.region, get_partition(fn.region))
            principal = Principal.session(fn.role, fn.function_name)
            params = {"LogGroupName": fn.logs_group_name, "Stream": stream}
            if not iam_enforce.allowed_for_service(
                LAMBDA_RUNTIME, params, principal, where, "lambda runtime logs"
            ):
                return  # AWS drops the logs of a role that may not write them
        original(fn, stream, logs)

    lambda_exec.save_logs = save_logs  # type: ignore[assignment]


# --- Step Functions ----------------------------------------------------------------------------
def _patch_sfn_clients() -> None:
    original = sfn_clients.current_client_factory()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        client = original(region=region, service=service, state_credentials=state_credentials)
        role_arn = getattr(state_credentials, "role_arn", None)
        if not iam_enforce.enforcement.enabled or not role_arn:
            return client
        session = session_for("states.amazonaws.com", role_arn, _SFN_SESSION, region)
        return _client_with(client, region, service, session)

    sfn_clients.replace_client_factory(original, boto_client_for)


_signed_clients: dict[tuple[str, ...], Any] = {}
_signed_clients_lock = threading.Lock()


def _client_with(client: Any, region: str, service: str, session: Any) -> Any:
    """The interpreter's client, signed with the session's keys (kept per session: a client is
    thread-safe once made, and making one costs ~10 ms of CPU)."""
    import boto3

    key = (region, service, client.meta.endpoint_url, session.access_key_id)
    with _signed_clients_lock:
        signed = _signed_clients.get(key)
        if signed is None:
            signed = _signed_clients[key] = boto3.client(
                service_name=service,
                region_name=region,
                endpoint_url=client.meta.endpoint_url,
                aws_access_key_id=session.access_key_id,
                aws_secret_access_key=session.secret_access_key,
                aws_session_token=session.session_token,
                config=client.meta.config,
            )
    return signed


def install() -> None:
    """Patch the Lambda runner and the Step Functions interpreter (idempotent)."""
    global _installed
    if _installed:
        return
    _patch_lambda_config()
    _patch_lambda_logs()
    _patch_sfn_clients()
    _installed = True
