"""The restore event: one table of keys, one validator, defaults filled in.

A password never travels in the event: ``refuse_plaintext`` rejects any key that looks like one
(the event is stored verbatim in the execution history). Pass the secret's NAME instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reslab.restore.errors import InvalidRestoreEvent, PlaintextSecretRefused

SNAPSHOT_LATEST = "latest"
SNAPSHOT_NEW = "new"


@dataclass(frozen=True)
class Key:
    types: tuple[type, ...]
    default: Any = None
    required: bool = False
    help: str = ""


#: Every key the restore machine reads. Anything else is refused (typos must not pass silently).
KEYS: dict[str, Key] = {
    "instance": Key((str,), help="source DB instance (default: <stack_prefix>Database output)"),
    "report_bucket": Key((str,), help="report bucket (default: <stack_prefix>Storage output)"),
    "region_name": Key((str,), help="region of the instance (default: the Lambda's)"),
    "secret_id": Key((str,), help="Secrets Manager secret name/ARN with username+password"),
    "ssm_parameter": Key((str,), help="SSM SecureString parameter name with the credentials"),
    "snapshot": Key((str,), SNAPSHOT_LATEST, help="latest | new | <snapshot id>"),
    "restore_credentials": Key(
        (str,), help="managed (new RDS-managed secret on the copy) | source (the source's secret)"
    ),
    "expectations": Key((dict,), help="expected tables/rows/checks (reslab.checks)"),
    "slack_webhook_parameter": Key((str,), help="SSM SecureString parameter with the webhook"),
    "workshop": Key((str,), "reslab", help="value of the workshop tag"),
    "stack_prefix": Key((str,), help="lab stack prefix: instance/bucket from stack outputs"),
    "db_subnet_group": Key((str,), help="default: the source instance's subnet group"),
    "security_group_ids": Key((list,), help="default: the source instance's security groups"),
    "database": Key((str,), help="database name (default: the instance's DBName)"),
    "instance_class": Key((str,), help="class of the temporary instance"),
    "poll_seconds": Key((int,), 30, help="first Wait between status checks"),
    "poll_cap_seconds": Key((int,), 300, help="the Wait doubles up to this"),
    "deadline_seconds": Key((int,), 3600, help="RestoreTimeout after this long"),
    "keep_snapshot": Key((bool,), False, help="keep a snapshot taken with snapshot=new"),
    "test_hook_sql": Key((str, list), help="SQL run on the restored DB (tests only)"),
    "log_level": Key((str,), "INFO"),
    #: Set by a parent machine (states:startExecution) to link the two executions in the console.
    "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": Key((str,), help="parent execution"),
}

#: Normalised key fragments that mean "this is a password" (normalised: lower-case, no _ - .).
_PLAINTEXT = re.compile(
    r"(password|passwd|passphrase|pwd|^pass$|secretvalue|secretstring|"
    r"apikey|token|credential|webhookurl)"
)
#: Keys that look like it but name a secret instead of holding one.
_NAMES_A_SECRET = {"secretid", "ssmparameter", "slackwebhookparameter"}


def _normalise(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def plaintext_keys(value: Any, path: str = "") -> list[str]:
    """Paths of keys anywhere in ``value`` that look like they hold a password."""
    found: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            norm = _normalise(str(key))
            if norm not in _NAMES_A_SECRET and _PLAINTEXT.search(norm):
                found.append(here)
            found.extend(plaintext_keys(item, here))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(plaintext_keys(item, f"{path}[{index}]"))
    return found


def refuse_plaintext(event: Mapping[str, Any]) -> None:
    keys = plaintext_keys(event)
    if keys:
        raise PlaintextSecretRefused(
            f"the event carries {', '.join(sorted(keys))}: a password in the event would be "
            "stored in clear in the Step Functions execution history. Pass the NAME of a "
            "Secrets Manager secret ('secret_id') or of an SSM SecureString parameter "
            "('ssm_parameter') instead; by default the instance's RDS-managed master secret "
            "is used"
        )


def validate(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The normalised event (defaults filled in); InvalidRestoreEvent / PlaintextSecretRefused."""
    if not isinstance(raw, Mapping):
        raise InvalidRestoreEvent("the event must be a JSON object")
    refuse_plaintext(raw)
    unknown = sorted(set(raw) - set(KEYS) - {"run", "snapshot_info", "restore", "poll"})
    if unknown:
        raise InvalidRestoreEvent(f"{unknown[0]}: unknown key (known: {', '.join(KEYS)})")
    event: dict[str, Any] = {}
    for name, key in KEYS.items():
        value = raw.get(name, key.default)
        if value is None:
            if key.required:
                raise InvalidRestoreEvent(f"{name}: required ({key.help})")
            continue
        if isinstance(value, bool) and bool not in key.types:
            raise InvalidRestoreEvent(f"{name}: expected {key.types[0].__name__}, got a boolean")
        if not isinstance(value, key.types):
            raise InvalidRestoreEvent(
                f"{name}: expected {key.types[0].__name__}, got {type(value).__name__}"
            )
        event[name] = value
    for name in ("instance", "report_bucket"):
        if name not in event and "stack_prefix" not in event:
            raise InvalidRestoreEvent(f"{name}: required ({KEYS[name].help}) unless stack_prefix")
    if event.get("restore_credentials") not in (None, "managed", "source"):
        raise InvalidRestoreEvent("restore_credentials: must be 'managed' or 'source'")
    if "secret_id" in event and "ssm_parameter" in event:
        raise InvalidRestoreEvent("secret_id: give either secret_id or ssm_parameter, not both")
    for name, low in (("poll_seconds", 0), ("poll_cap_seconds", 1), ("deadline_seconds", 1)):
        if event[name] < low:
            raise InvalidRestoreEvent(f"{name}: must be >= {low}")
    return event
