"""The access log of a local cloud on disk, and ``reslab local iam-report`` from it.

A local cloud that enforces IAM records every decision (``LocalCloud.access_log``). On stop (and,
for ``reslab local up``, every few seconds) :func:`save` writes the log and the roles' policies
of that moment to ``.reslab/iam-access.jsonl`` and ``.reslab/iam-grants.json``, so the report
needs no running cloud: :func:`report` prints, per role the run used, each statement's verdict
(needed / redundant / unused), the action patterns no request used, and the denials
(``reslab.iam.accesslog.render``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reslab.iam.accesslog import AccessLog, render, usage
from reslab.iam.policy import Policy

ACCESS_LOG = Path(".reslab") / "iam-access.jsonl"
GRANTS = Path(".reslab") / "iam-grants.json"


def role_documents() -> dict[str, list[tuple[str, str]]]:
    """Role ARN -> its identity policies as (name, document), named as the authorizer names
    them in the log's ``allowed_by`` (``reslab.iam.motostate``). Reads moto's backends under the
    request lock."""
    from moto.iam.models import iam_backends

    from reslab.iam.motostate import _default_document, _text
    from reslab.localcloud import serialise

    out: dict[str, list[tuple[str, str]]] = {}
    lock: Any = serialise.serialised() if not serialise.held() else contextlib.nullcontext()
    with lock:
        for account in list(iam_backends.keys()):
            for backend in list(iam_backends[account].values()):
                for role in list(backend.roles.values()):
                    docs = [
                        (f"role/{role.name} inline {n}", _text(d)) for n, d in role.policies.items()
                    ]
                    docs += [
                        (f"managed {p.arn}", _default_document(p))
                        for p in role.managed_policies.values()
                    ]
                    out[str(role.arn)] = docs
    return out


def save(log: AccessLog, base: Path | None = None) -> Path:
    """Write the log and the roles' policies under ``base`` (default: the current directory)."""
    root = base or Path.cwd()
    path = root / ACCESS_LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    log.save(path)
    (root / GRANTS).write_text(json.dumps(role_documents()))
    return path


def report(base: Path | None = None) -> Iterator[str]:
    """The lines of ``reslab local iam-report`` for the log saved under ``base``."""
    root = base or Path.cwd()
    log = AccessLog.load(root / ACCESS_LOG)
    grants_raw: dict[str, list[list[str]]] = json.loads((root / GRANTS).read_text())
    entries = log.entries()
    used_roles = {e.role for e in entries if e.role}
    grants = {
        role: [Policy.parse(document, name) for name, document in docs]
        for role, docs in grants_raw.items()
        if role in used_roles
    }
    return render(usage(entries, grants))
