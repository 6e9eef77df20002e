"""IAM enforced on every request to the local cloud (gaps 40 and 41 of docs/local-cloud.md).

moto 5.2.5 authorizes nothing by default (``INITIAL_NO_AUTH_ACTION_COUNT = inf``) and its own
authorizer is not faithful (docs/iam.md). :func:`install` replaces the two hooks of
``ActionAuthenticatorMixin`` every request goes through -- ``_authenticate_and_authorize_normal_
action`` (``BaseResponse.call_action``: every service but S3) and ``_authenticate_and_authorize_
s3_action`` (S3's handlers) -- by :func:`authorize_request`: the caller is found from the request's
access key (an STS session's key: the assumed role's session; an IAM user's key: the user; any
other key: the account's root user), the request is authorized against that principal's
identity policies, boundary and the resource's policy by ``reslab.iam.context.authorize``, every
decision goes to the access log, and a denial answers as AWS does (``reslab.iam.denials``).

Enforcement is switched per cloud (``LocalCloud(iam=...)``, :data:`enforcement`): the hooks are
installed once per process and do nothing while it is off.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from werkzeug.exceptions import HTTPException

from reslab.iam.accesslog import AccessLog
from reslab.iam.context import Environment, Outcome, UnknownOperation, authorize, build
from reslab.iam.denials import denial
from reslab.iam.evaluate import Principal
from reslab.iam.operations import Authorization
from reslab.iam.state import Where

#: S3's handlers name some operations by their IAM action (moto's ``ACTION_MAP``) where the
#: request router cannot tell (a bucket listing with no bucket).
_S3_ACTIONS_TO_OPERATIONS = {"ListAllMyBuckets": "ListBuckets"}
_installed = False


@dataclass
class Enforcement:
    """Whether the running cloud enforces IAM, and its access log."""

    enabled: bool = False
    log: AccessLog = field(default_factory=AccessLog)
    _principals: dict[tuple[str, str], Principal] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def configure(self, enabled: bool) -> None:
        self.enabled = enabled
        self.log.clear()
        with self._lock:
            self._principals.clear()


enforcement = Enforcement()
#: The caller of the request this thread serves (``caller()``): CloudFormation acts as it for a
#: stack without a service role (``compat/cloudformation/service_role.py``).
_request = threading.local()


def caller() -> Principal | None:
    """The principal of the request being served on this thread (None outside a request)."""
    return getattr(_request, "principal", None)


class AccessDeniedHTTP(HTTPException):
    """The denial as moto's ``call_action`` answers an ``HTTPException``: body and status."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(description=body)
        self.code = status


class UnmodelledOperation(HTTPException):
    """A non-root caller made a call the request-context table has no row for."""

    code = 500


def principal_of(access_key: str, account: str, partition: str) -> Principal:
    """The caller behind an access key id: an STS session, an IAM user, else the root user."""
    cached = enforcement._principals.get((account, access_key))
    if cached is not None:
        return cached
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    found = Principal.root(account)
    for role in sts_backends[account][partition].assumed_roles:
        if role.access_key_id == access_key:
            found = Principal.session(role.role_arn, role.session_name)
            break
    else:
        for user in iam_backends[account][partition].users.values():
            if any(k.access_key_id == access_key for k in user.access_keys):
                found = Principal.user(user.arn)
                break
    if found.kind != "root":  # the root user's keys may become a session's later: not cached
        with enforcement._lock:
            enforcement._principals[(account, access_key)] = found
    return found


def decide(
    service: str, operation: str, params: dict[str, Any], principal: Principal, where: Where
) -> tuple[int, dict[str, str], str] | None:
    """Authorize one request and log each decision; the denial's (status, headers, body), or
    None when allowed."""
    from reslab.iam.motostate import MotoState

    try:
        outcome: Outcome = authorize(
            service, operation, params, principal, Environment(where, MotoState(where))
        )
    except UnknownOperation:
        if principal.kind == "root":  # identity policies do not apply to the root user
            return None
        raise UnmodelledOperation(
            f"the local cloud cannot authorize {service}.{operation}: no row in "
            "reslab/iam/operations.py"
        ) from None
    for built, decision in outcome.decisions:
        enforcement.log.record(built.request, decision, f"{service}.{operation}")
    denied = outcome.denied
    if denied is None:
        return None
    built, decision = denied
    return denial(service, built.request, decision).render(str(uuid.uuid4()))


def allowed_for_service(
    authorizations: tuple[Authorization, ...],
    params: dict[str, Any],
    principal: Principal,
    where: Where,
    operation: str,
) -> bool:
    """Authorize what an AWS service does with a principal's role (no API request: e.g. the
    Lambda runtime writing the function's logs, ``operations.LAMBDA_RUNTIME``); every decision
    goes to the access log under ``operation``. True when all are allowed."""
    from reslab.iam.motostate import MotoState

    env = Environment(where, MotoState(where))
    policies = env.state.principal_policies(principal)
    allowed = True
    for built in build(authorizations, params, principal, env, policies):
        decision = built.decide(policies)
        enforcement.log.record(built.request, decision, operation)
        allowed = allowed and decision.allowed
    return allowed


def _api_params(response: Any, operation: str, url_params: dict[str, Any] | None = None) -> Any:
    """The request's parameters as the API names them (moto's protocol parsers, into plain
    dicts: moto's own ``params`` of some services is a snake_case ``XFormedDict``), read into a
    local value: the response object is not changed."""
    from moto.core.parse import PROTOCOL_PARSERS
    from moto.core.request import determine_request_protocol
    from moto.core.utils import get_service_model

    request = response.normalized_request
    try:
        model = get_service_model(response.boto3_service_name)
        parser = PROTOCOL_PARSERS[determine_request_protocol(model, request.content_type)](
            model.operation_model(operation), map_type=dict
        )
        return parser.parse(
            {
                "method": request.method,
                "values": request.values,
                "headers": request.headers,
                "body": request.data,
                "url_path": request.path,
                "url_params": url_params if url_params is not None else response.uri_match,
            }
        )
    except Exception:  # noqa: BLE001 - a body moto's parser cannot read: no parameters
        return {}


def _caller(response: Any) -> tuple[Principal, Where]:
    from moto.utilities.utils import get_partition

    partition = get_partition(response.region)
    where = Where(response.current_account, response.region, partition)
    principal = principal_of(response.get_access_key(), response.current_account, partition)
    _request.principal = principal
    return principal, where


def authorize_normal_action(self: Any, resource: str = "*") -> None:
    """Replacement of ``_authenticate_and_authorize_normal_action`` (every service but S3)."""
    if not enforcement.enabled:
        return
    operation = self._get_action()
    if not operation:
        return
    principal, where = _caller(self)
    params = _api_params(self, operation)
    answer = decide(self.boto3_service_name, operation, dict(params or {}), principal, where)
    if answer is None:
        return
    status, headers, body = answer
    self.response_headers.update(headers)  # call_action answers with them and the body
    raise AccessDeniedHTTP(status, body)


def authorize_s3_action(
    self: Any, bucket_name: str | None = None, key_name: str | None = None
) -> None:
    """Replacement of ``_authenticate_and_authorize_s3_action``."""
    if not enforcement.enabled:
        return
    from moto.s3.exceptions import S3AccessDeniedError

    url_params = {"Bucket": bucket_name, "Key": key_name}
    saved = getattr(self, "uri_match", {})
    operation = _S3_ACTIONS_TO_OPERATIONS.get(str(self.data.get("Action")))
    if operation is None:
        operation = self._get_action_from_method_and_request_uri(self.normalized_request)
    matched, self.uri_match = getattr(self, "uri_match", {}), saved
    if not operation:
        return
    params = dict(_api_params(self, operation, {**(matched or {}), **url_params}) or {})
    params.update({k: v for k, v in url_params.items() if v})
    principal, where = _caller(self)
    answer = decide("s3", operation, params, principal, where)
    if answer is None:
        return
    _, _, body = answer
    error = S3AccessDeniedError()
    error.message = _message_of(body)
    raise error


def _message_of(xml_body: str) -> str:
    from xml.sax.saxutils import unescape

    start, end = xml_body.find("<Message>"), xml_body.find("</Message>")
    return unescape(xml_body[start + len("<Message>") : end]) if start >= 0 else "Access Denied"


def install() -> None:
    """Replace moto's authorization hooks (idempotent); they act only while enabled."""
    global _installed
    if _installed:
        return
    from moto.core.authorization import ActionAuthenticatorMixin

    ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = (  # type: ignore[method-assign]
        authorize_normal_action
    )
    ActionAuthenticatorMixin._authenticate_and_authorize_s3_action = (  # type: ignore[method-assign]
        authorize_s3_action
    )
    _installed = True
