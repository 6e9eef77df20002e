"""The error AWS answers for a request IAM denied, per service: code, HTTP status, message, body.

* query services (IAM, STS, RDS, CloudFormation, Auto Scaling...): ``AccessDenied``, 403,
  ``User: P is not authorized to perform: A on resource: R because ...``;
* EC2: ``UnauthorizedOperation``, 403, ``You are not authorized to perform this operation. User:
  ... . Encoded authorization failure message: E`` (``E`` only for actions with resource-level
  permissions; base64 JSON in the shape ``sts:DecodeAuthorizationMessage`` returns);
* S3 (rest-xml): ``AccessDenied``, 403, the same sentence with the ARN quoted (``on resource:
  "arn:aws:s3:::b/k"``);
* JSON services (KMS, Secrets Manager, SSM, Logs, Step Functions...): ``AccessDeniedException``,
  400; REST-JSON ones (Lambda, Scheduler, FIS): ``AccessDeniedException``, 403.

``because ...`` is the decision's reason in AWS's words ("because no identity-based policy allows
the s3:GetObject action", "with an explicit deny in a resource-based policy", ...). A request
whose resource is ``*`` (an action without resource-level permissions) has no ``on resource``.
"""

from __future__ import annotations

import base64
import functools
import json
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reslab.iam.evaluate import Decision, Request
from reslab.iam.iamdb import service_model

QUERY_CODE = "AccessDenied"
EC2_CODE = "UnauthorizedOperation"
JSON_CODE = "AccessDeniedException"
EC2_PREFIX = "You are not authorized to perform this operation."


@functools.cache
def protocol_of(service: str) -> str:
    """botocore's protocol of a boto3 service name (``query``, ``json``, ``rest-xml``...)."""
    return str(service_model(service).protocol)


@functools.cache
def _xml_namespace(service: str) -> str:
    model = service_model(service)
    prefix = model.metadata.get("endpointPrefix", service)
    return f"https://{prefix}.amazonaws.com/doc/{model.api_version}/"


@dataclass(frozen=True)
class Denial:
    service: str  # boto3 service name
    protocol: str
    code: str
    status: int
    message: str

    def render(self, request_id: str) -> tuple[int, dict[str, str], str]:
        """(status, headers, body) as the service sends them."""
        headers = {"x-amzn-RequestId": request_id, "x-amzn-ErrorType": self.code}
        if self.protocol in ("json", "rest-json", "smithy-rpc-v2-cbor"):
            body: dict[str, str] = {"__type": self.code, "Message": self.message}
            if self.protocol == "rest-json":
                body = {"Type": "User", "Message": self.message}
            headers["Content-Type"] = "application/x-amz-json-1.1"
            return self.status, headers, json.dumps(body)
        headers["Content-Type"] = "text/xml"
        message = escape(self.message)
        if self.protocol == "ec2":
            return (
                self.status,
                headers,
                (
                    '<?xml version="1.0" encoding="UTF-8"?>\n'
                    f"<Response><Errors><Error><Code>{self.code}</Code><Message>{message}</Message>"
                    f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
                ),
            )
        if self.protocol == "rest-xml":
            return (
                self.status,
                headers,
                (
                    '<?xml version="1.0" encoding="UTF-8"?>\n'
                    f"<Error><Code>{self.code}</Code><Message>{message}</Message>"
                    f"<RequestId>{request_id}</RequestId></Error>"
                ),
            )
        return (
            self.status,
            headers,
            (
                f'<ErrorResponse xmlns="{_xml_namespace(self.service)}"><Error><Type>Sender</Type>'
                f"<Code>{self.code}</Code><Message>{message}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>"
            ),
        )


def not_authorized(request: Request, decision: Decision, quote_resource: bool = False) -> str:
    """``User: P is not authorized to perform: A [on resource: R] because ...``."""
    where = ""
    if request.resource != "*":
        resource = f'"{request.resource}"' if quote_resource else request.resource
        where = f" on resource: {resource}"
    return (
        f"User: {request.principal.arn} is not authorized to perform: {request.action}{where} "
        f"{decision.because(request.action)}"
    )


def encoded_authorization_message(request: Request, decision: Decision) -> str:
    """What ``sts:DecodeAuthorizationMessage`` would decode (``DecodedMessage``), base64."""
    document = {
        "allowed": False,
        "explicitDeny": decision.reason.explicit,
        "matchedStatements": {
            "items": [{"statementId": decision.sid or "", "policy": decision.policy}]
            if decision.reason.explicit
            else []
        },
        "failures": {"items": []},
        "context": {
            "principal": {"arn": request.principal.arn},
            "action": request.action,
            "resource": request.resource,
            "conditions": {
                "items": [
                    {"key": key, "values": {"items": [{"value": v} for v in values]}}
                    for key, values in sorted(request.context.items())
                ]
            },
        },
    }
    return base64.b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()


def denial(service: str, request: Request, decision: Decision) -> Denial:
    """The error ``service`` answers when IAM denied ``request`` for ``decision``'s reason."""
    protocol = protocol_of(service)
    if protocol == "ec2":
        message = f"{EC2_PREFIX} {not_authorized(request, decision)}"
        if request.resource != "*":
            message += ". Encoded authorization failure message: " + encoded_authorization_message(
                request, decision
            )
        return Denial(service, protocol, EC2_CODE, 403, message)
    if protocol == "rest-xml":
        return Denial(service, protocol, QUERY_CODE, 403, not_authorized(request, decision, True))
    if protocol == "query":
        return Denial(service, protocol, QUERY_CODE, 403, not_authorized(request, decision))
    status = 403 if protocol == "rest-json" else 400
    return Denial(service, protocol, JSON_CODE, status, not_authorized(request, decision))
