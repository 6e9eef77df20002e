"""Where the database credentials live, and fetching them (only where a connection is made).

Only a :class:`SecretRef` (kind + name/ARN) travels through the state machine; the value is read
by the Lambda that connects and never logged, returned or written to a report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from reslab.restore import aws
from reslab.restore.errors import InvalidRestoreEvent, SecretNotFound
from reslab_lambda.aws import error_code

_NOT_FOUND = {"ResourceNotFoundException", "ParameterNotFound", "ParameterVersionNotFound"}


@dataclass(frozen=True)
class SecretRef:
    kind: str  # "secretsmanager" | "ssm"
    name: str

    def as_state(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name}

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> SecretRef:
        return cls(kind=str(data["kind"]), name=str(data["name"]))


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = ""

    def __repr__(self) -> str:  # never show the password
        return f"Credentials(username={self.username!r}, password='***')"


def resolve(event: dict[str, Any], instance: dict[str, Any]) -> SecretRef:
    """The secret named by the event, else the instance's RDS-managed master secret."""
    if event.get("ssm_parameter"):
        return SecretRef("ssm", event["ssm_parameter"])
    if event.get("secret_id"):
        return SecretRef("secretsmanager", event["secret_id"])
    managed = (instance.get("MasterUserSecret") or {}).get("SecretArn")
    if not managed:
        raise SecretNotFound(
            f"instance {instance.get('DBInstanceIdentifier')} has no RDS-managed master secret; "
            "pass 'secret_id' (Secrets Manager) or 'ssm_parameter' (SSM SecureString)"
        )
    return SecretRef("secretsmanager", managed)


def ensure_exists(ref: SecretRef, event: dict[str, Any]) -> None:
    """Fail early (SecretNotFound) without reading the value."""
    try:
        if ref.kind == "ssm":
            found = aws.client("ssm", event).describe_parameters(
                ParameterFilters=[{"Key": "Name", "Values": [ref.name]}]
            )["Parameters"]
            if not found:
                raise SecretNotFound(f"SSM parameter {ref.name!r} does not exist")
        else:
            aws.client("secretsmanager", event).describe_secret(SecretId=ref.name)
    except SecretNotFound:
        raise
    except Exception as exc:
        if error_code(exc) in _NOT_FOUND:
            raise SecretNotFound(f"{ref.kind} secret {ref.name!r} does not exist") from None
        raise


def _parse(text: str, default_user: str) -> Credentials:
    try:
        data = json.loads(text)
    except ValueError:
        return Credentials(default_user, text)  # a bare password
    if not isinstance(data, dict):
        raise InvalidRestoreEvent("the secret must hold a JSON object or a bare password")
    user = data.get("username") or data.get("user") or default_user
    return Credentials(str(user), str(data.get("password", "")))


def fetch(ref: SecretRef, event: dict[str, Any], default_user: str) -> Credentials:
    """Read the value (SecretNotFound when it is gone)."""
    try:
        if ref.kind == "ssm":
            text = aws.client("ssm", event).get_parameter(Name=ref.name, WithDecryption=True)[
                "Parameter"
            ]["Value"]
        else:
            text = aws.client("secretsmanager", event).get_secret_value(SecretId=ref.name)[
                "SecretString"
            ]
    except Exception as exc:
        if error_code(exc) in _NOT_FOUND:
            raise SecretNotFound(f"{ref.kind} secret {ref.name!r} does not exist") from None
        raise
    return _parse(text, default_user)
