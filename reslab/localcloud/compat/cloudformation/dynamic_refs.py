"""CloudFormation dynamic references to Secrets Manager, which moto 5.2.5 leaves as text.

``{{resolve:secretsmanager:<secret id or ARN>:SecretString:<json key>[:<stage>[:<version>]]}}``
in a property value is replaced by the secret's value (or one JSON key of it) when the resource
is created, as on AWS -- the template never holds the value. The DMS stack copies the DMS user's
name and password into its source endpoint's secret this way. A reference to a secret that does
not exist fails the resource (the stack rolls back), as on AWS. ``ssm`` references are not
resolved (the lab uses none).
"""

from __future__ import annotations

import json
import re
from typing import Any

_REFERENCE = re.compile(
    r"\{\{resolve:secretsmanager:"
    r"(?P<id>arn:[^:]+:secretsmanager:[^:]+:\d{12}:secret:[^:}]+|[^:}]+)"
    r"(?::SecretString)?(?::(?P<key>[^:}]*))?(?::(?P<stage>[^:}]*))?(?::(?P<version>[^:}]*))?\}\}"
)
_installed = False


def resolve(text: str, account_id: str, region: str) -> str:
    """``text`` with every Secrets Manager dynamic reference replaced by its value."""
    from moto.secretsmanager.models import secretsmanager_backends

    def value(match: re.Match[str]) -> str:
        secret_id = match.group("id")
        secret_region = secret_id.split(":")[3] if secret_id.startswith("arn:") else region
        stored = secretsmanager_backends[account_id][secret_region].get_secret_value(
            secret_id, match.group("version") or None, match.group("stage") or "AWSCURRENT"
        )
        secret = str(stored["SecretString"])
        key = match.group("key")
        return str(json.loads(secret)[key]) if key else secret

    return _REFERENCE.sub(value, text)


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.cloudformation import parsing

    clean_json = parsing.clean_json

    def resolving_clean_json(resource_json: Any, resources_map: Any) -> Any:
        result = clean_json(resource_json, resources_map)
        if isinstance(result, str) and "{{resolve:secretsmanager:" in result:
            return resolve(result, resources_map._account_id, resources_map._region_name)
        return result

    parsing.clean_json = resolving_clean_json  # type: ignore[assignment]
    _installed = True
