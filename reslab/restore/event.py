"""The restore event: one table of keys, one validator, defaults filled in.

A password never travels in the event: ``refuse_plaintext`` rejects any key that looks like one
(the event is stored verbatim in the execution history). Pass the secret's NAME instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from reslab.restore.errors import InvalidRestoreEvent, PlaintextSecretRefused
from reslab_lambda.keys import Key, unalias

SNAPSHOT_LATEST = "latest"
SNAPSHOT_NEW = "new"

#: Every key the restore machine reads. Anything else is refused (typos must not pass silently).
KEYS: dict[str, Key] = {
    key.name: key
    for key in (
        Key("instance", str, help="source DB instance (default: <stack_prefix>Database output)"),
        Key("report_bucket", str, help="report bucket (default: <stack_prefix>Storage output)"),
        Key("region_name", str, help="region of the instance (default: the Lambda's)"),
        Key("secret_id", str, help="Secrets Manager secret name/ARN with username+password"),
        Key("ssm_parameter", str, help="SSM SecureString parameter name with the credentials"),
        Key("snapshot", str, default=SNAPSHOT_LATEST, help="latest | new | <snapshot id>"),
        Key(
            "restore_credentials",
            str,
            help="managed (new RDS-managed secret on the copy) | source (the source's secret)",
        ),
        Key("expectations", dict, help="expected tables/rows/checks (reslab.checks)"),
        Key("slack_webhook_parameter", str, help="SSM SecureString parameter with the webhook"),
        Key("workshop", str, default="reslab", help="value of the workshop tag"),
        Key("stack_prefix", str, help="lab stack prefix: instance/bucket from stack outputs"),
        Key("db_subnet_group", str, help="default: the source instance's subnet group"),
        Key("security_group_ids", list, help="default: the source instance's security groups"),
        Key("database", str, help="database name (default: the instance's DBName)"),
        Key("instance_class", str, help="class of the temporary instance"),
        Key("poll_seconds", int, default=30, help="first Wait between status checks"),
        # the deploy event's name; poll_cap_seconds was this event's own until the two met
        Key(
            "poll_max_seconds",
            int,
            default=300,
            aliases=("poll_cap_seconds",),
            help="the Wait doubles up to this",
        ),
        Key("deadline_seconds", int, default=3600, help="RestoreTimeout after this long"),
        Key("keep_snapshot", bool, default=False, help="keep a snapshot taken with snapshot=new"),
        Key("test_hook_sql", (str, list), help="SQL run on the restored DB (tests only)"),
        Key("log_level", str, default="INFO"),
        # set by a parent machine (states:startExecution) to link the two executions
        Key("AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID", str, help="parent execution"),
    )
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
    raw, problems = unalias(raw, KEYS.values())
    if problems:
        raise InvalidRestoreEvent(problems[0])
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
        expected = key.type_tuple[0].__name__
        if isinstance(value, bool) and not key.accepts(value):
            raise InvalidRestoreEvent(f"{name}: expected {expected}, got a boolean")
        if not key.accepts(value):
            raise InvalidRestoreEvent(f"{name}: expected {expected}, got {type(value).__name__}")
        event[name] = value
    for name in ("instance", "report_bucket"):
        if name not in event and "stack_prefix" not in event:
            raise InvalidRestoreEvent(f"{name}: required ({KEYS[name].help}) unless stack_prefix")
    if event.get("restore_credentials") not in (None, "managed", "source"):
        raise InvalidRestoreEvent("restore_credentials: must be 'managed' or 'source'")
    if "secret_id" in event and "ssm_parameter" in event:
        raise InvalidRestoreEvent("secret_id: give either secret_id or ssm_parameter, not both")
    for name, low in (("poll_seconds", 0), ("poll_max_seconds", 1), ("deadline_seconds", 1)):
        if event[name] < low:
            raise InvalidRestoreEvent(f"{name}: must be >= {low}")
    return event
