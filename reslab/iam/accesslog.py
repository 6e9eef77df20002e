"""What the local cloud authorized: one entry per (principal, action, resource) decision, and the
report ``reslab local iam-report`` prints from it: per role, the actions its policies grant beside
the ones a run used.

A statement is **needed** when some allowed request had no other allowing statement: removing it
would have turned that request into ``AccessDenied``. A statement that only ever shared its
requests with others is **redundant**; one no request matched is **unused**. The proof the issue
asks for ("removing any single statement makes some test fail") is: after the lifecycle run,
every statement of every lab role is needed.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from reslab.iam.evaluate import Decision, Request, StatementRef
from reslab.iam.policy import Policy
from reslab.iam.wildcards import action_matches


@dataclass(frozen=True)
class Entry:
    principal: str  # the caller (assumed-role session, user, root)
    role: str | None  # the role of a session: the report groups by it
    action: str
    resource: str
    allowed: bool
    reason: str  # AWS's words: "because no identity-based policy allows ..."
    operation: str  # "rds.DeleteDBSnapshot", "task states:startExecution.sync:2"...
    allowed_by: tuple[tuple[str, int], ...] = ()  # (policy name, statement index)
    at: float = field(default_factory=time.time)

    @classmethod
    def of(cls, request: Request, decision: Decision, operation: str) -> Entry:
        return cls(
            principal=request.principal.arn,
            role=request.principal.role_arn,
            action=request.action,
            resource=request.resource,
            allowed=decision.allowed,
            reason=decision.because(request.action) if not decision.allowed else "allowed",
            operation=operation,
            allowed_by=tuple((s.policy, s.index) for s in decision.allowed_by),
        )


class AccessLog:
    """Thread-safe, in memory; ``save``/``load`` as JSON lines."""

    def __init__(self) -> None:
        self._entries: list[Entry] = []
        self._lock = threading.Lock()

    def record(self, request: Request, decision: Decision, operation: str) -> Entry:
        entry = Entry.of(request, decision, operation)
        with self._lock:
            self._entries.append(entry)
        return entry

    def entries(self) -> list[Entry]:
        with self._lock:
            return list(self._entries)

    def size(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def save(self, path: Path) -> None:
        lines = (json.dumps(asdict(e)) for e in self.entries())
        path.write_text("".join(f"{line}\n" for line in lines))

    @classmethod
    def load(cls, path: Path) -> AccessLog:
        log = cls()
        for line in path.read_text().splitlines():
            if line.strip():
                raw = json.loads(line)
                raw["allowed_by"] = tuple(tuple(x) for x in raw["allowed_by"])
                log._entries.append(Entry(**raw))
        return log


@dataclass
class StatementUsage:
    ref: StatementRef
    actions: tuple[str, ...]  # the statement's Action patterns ("*" for NotAction)
    used_actions: set[str] = field(default_factory=set)  # actions of requests it allowed
    requests: int = 0  # requests it allowed
    sole: int = 0  # requests only it allowed

    @property
    def verdict(self) -> str:
        if self.sole:
            return "needed"
        return "redundant" if self.requests else "unused"

    def unused_patterns(self) -> tuple[str, ...]:
        """Action patterns of the statement that no allowed request matched."""
        return tuple(
            p for p in self.actions if not any(action_matches(p, a) for a in self.used_actions)
        )


@dataclass
class RoleUsage:
    role: str
    statements: list[StatementUsage]
    denied: list[Entry]

    @property
    def granted(self) -> tuple[str, ...]:
        return tuple(sorted({p for s in self.statements for p in s.actions}))

    @property
    def used(self) -> tuple[str, ...]:
        return tuple(sorted({a for s in self.statements for a in s.used_actions}))


def usage(entries: Iterable[Entry], grants: Mapping[str, Iterable[Policy]]) -> list[RoleUsage]:
    """Per role (``grants``: role ARN -> its identity-based policies), statement by statement."""
    by_role: dict[str, list[Entry]] = {}
    for entry in entries:
        if entry.role:
            by_role.setdefault(entry.role, []).append(entry)
    report = []
    for role, policies in sorted(grants.items()):
        stats: dict[tuple[str, int], StatementUsage] = {}
        for policy in policies:
            for index, statement in enumerate(policy.statements):
                if statement.effect != "Allow":
                    continue
                actions = ("*",) if statement.not_action else statement.actions
                ref = StatementRef(policy.name, index, statement.sid)
                stats[(policy.name, index)] = StatementUsage(ref, actions)
        mine = by_role.get(role, [])
        for entry in mine:
            if not entry.allowed:
                continue
            for key in entry.allowed_by:
                if key in stats:
                    stats[key].used_actions.add(entry.action)
                    stats[key].requests += 1
            if len(entry.allowed_by) == 1 and entry.allowed_by[0] in stats:
                stats[entry.allowed_by[0]].sole += 1
        report.append(RoleUsage(role, list(stats.values()), [e for e in mine if not e.allowed]))
    return report


def render(report: Iterable[RoleUsage]) -> Iterator[str]:
    """The text ``reslab local iam-report`` prints."""
    for role in report:
        name = role.role.rsplit("/", 1)[-1]
        yield f"{name}: {len(role.used)} action(s) used of {len(role.granted)} granted"
        for s in role.statements:
            where = f"{s.ref.policy} #{s.ref.index}" + (f" ({s.ref.sid})" if s.ref.sid else "")
            yield f"  {s.verdict:<9} {where}: {s.requests} request(s)"
            for pattern in s.unused_patterns():
                yield f"    unused grant {pattern}"
        for entry in role.denied:
            what = f"{entry.action} on {entry.resource} ({entry.operation})"
            yield f"  DENIED    {what}: {entry.reason}"
