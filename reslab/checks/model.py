"""Data records of the checks library: fingerprints, check results and the report.

Everything here is plain data with ``to_dict()`` / ``from_dict()`` so that it crosses Lambda and
Step Functions boundaries as JSON. Big integers (checksums) are kept as decimal strings so that
no JSON reader (JavaScript, Step Functions) rounds them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

#: A check's status: ``skip`` is a check that could not run here (it proves nothing, so it is
#: never counted as a pass, and never fails the run either).
Status = Literal["pass", "fail", "skip"]
Verdict = Literal["pass", "fail"]

#: Version of the fingerprint dictionary layout (bumped on incompatible change).
FINGERPRINT_VERSION = 1
#: Version of the report JSON layout documented in docs/checks.md (bumped on incompatible change).
#: 2: status ``skip``, ``summary.skipped``, ``skipped``, ``source_instance``, ``timings[].start``.
REPORT_SCHEMA_VERSION = 2
#: How version 1 reported a check that could not run: a pass whose details began with this.
_V1_SKIP_PREFIX = "skipped: "


def table_key(engine: str, schema: str, name: str) -> str:
    """A table's public name: bare for MySQL and PostgreSQL's ``public``, else ``schema.name``."""
    if engine == "mysql" or schema == "public":
        return name
    return f"{schema}.{name}"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool

    def describe(self) -> str:
        return f"{self.name} {self.type}{'' if self.nullable else ' NOT NULL'}"


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[str, ...]
    unique: bool
    method: str

    def describe(self) -> str:
        kind = "UNIQUE " if self.unique else ""
        return f"{kind}{self.name} {self.method} ({', '.join(self.columns)})"


@dataclass(frozen=True)
class TableFingerprint:
    """One base table: its shape and its data summary (rows, order-independent checksum)."""

    schema: str
    name: str
    columns: tuple[Column, ...]
    indexes: tuple[Index, ...]
    rows: int | None = None
    checksum: str | None = None
    algorithm: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["columns"] = [asdict(c) for c in self.columns]
        data["indexes"] = [{**asdict(i), "columns": list(i.columns)} for i in self.indexes]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableFingerprint:
        return cls(
            schema=data["schema"],
            name=data["name"],
            columns=tuple(Column(**c) for c in data["columns"]),
            indexes=tuple(
                Index(c["name"], tuple(c["columns"]), c["unique"], c["method"])
                for c in data["indexes"]
            ),
            rows=data.get("rows"),
            checksum=data.get("checksum"),
            algorithm=data.get("algorithm"),
        )


@dataclass(frozen=True)
class Fingerprint:
    """What a database looks like: engine, version, users, tables with their data checksums.

    ``tables`` is keyed by the table's public name: ``name`` for PostgreSQL's ``public`` schema
    and for MySQL, ``schema.name`` for other PostgreSQL schemas.
    """

    engine: str
    version: str
    database: str
    user_count: int | None
    tables: dict[str, TableFingerprint]
    taken_at: str
    timings: dict[str, float] = field(default_factory=dict)
    #: Which server (cluster) this is: two databases on one server share its roles.
    server_id: str | None = None
    fingerprint_version: int = FINGERPRINT_VERSION

    @property
    def table_count(self) -> int:
        return len(self.tables)

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint_version": self.fingerprint_version,
            "engine": self.engine,
            "version": self.version,
            "database": self.database,
            "user_count": self.user_count,
            "server_id": self.server_id,
            "taken_at": self.taken_at,
            "timings": dict(self.timings),
            "tables": {key: t.to_dict() for key, t in self.tables.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fingerprint:
        version = data.get("fingerprint_version", FINGERPRINT_VERSION)
        if version != FINGERPRINT_VERSION:
            raise ValueError(f"unsupported fingerprint_version {version!r}")
        return cls(
            engine=data["engine"],
            version=data["version"],
            database=data["database"],
            user_count=data.get("user_count"),
            tables={k: TableFingerprint.from_dict(v) for k, v in data["tables"].items()},
            taken_at=data["taken_at"],
            timings=dict(data.get("timings", {})),
            server_id=data.get("server_id"),
        )


@dataclass(frozen=True)
class CheckResult:
    """One verdict: ``measured`` on the target against ``expected``; ``details`` says why.

    Made by the check's catalogue row (``reslab.checks.catalogue``), which names it."""

    name: str
    category: str
    status: Status
    measured: Any = None
    expected: Any = None
    details: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    @property
    def skipped(self) -> bool:
        return self.status == "skip"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], schema_version: int = REPORT_SCHEMA_VERSION
    ) -> CheckResult:
        result = cls(**data)
        details = result.details or ""
        if schema_version < 2 and result.passed and details.startswith(_V1_SKIP_PREFIX):
            return replace(result, status="skip", details=details[len(_V1_SKIP_PREFIX) :])
        return result


@dataclass(frozen=True)
class Timing:
    """One step of a run: ``seconds`` long, begun ``start`` seconds after the run began
    (steps that overlap ran at the same time; reports of layout 1 have no ``start``)."""

    step: str
    seconds: float
    start: float | None = None


@dataclass(frozen=True)
class CheckReport:
    """All results of one run; ``verdict`` is ``pass`` only when every check passed."""

    checks: tuple[CheckResult, ...]
    timings: tuple[Timing, ...]
    engine: str
    source: str | None
    target: str
    started_at: str
    finished_at: str
    snapshot_id: str | None = None
    snapshot_time: str | None = None
    comparison: str = "none"  # "source", "previous" or "none"
    #: The database instance whose backup this checks (e.g. the RDS instance id), if known.
    source_instance: str | None = None
    #: The target's fingerprint measured by this run (kept out of the report JSON): store it
    #: as the ``previous`` of the next run instead of fingerprinting the target again.
    target_fingerprint: Fingerprint | None = field(default=None, compare=False, repr=False)

    @property
    def verdict(self) -> Verdict:
        """``pass`` when no check failed; checks that could not run are listed in ``skipped``."""
        return "fail" if self.failures else "pass"

    @property
    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if c.failed]

    @property
    def skipped(self) -> list[CheckResult]:
        return [c for c in self.checks if c.skipped]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": REPORT_SCHEMA_VERSION,
            "verdict": self.verdict,
            "summary": {
                "total": len(self.checks),
                "passed": sum(c.passed for c in self.checks),
                "failed": len(self.failures),
                "skipped": len(self.skipped),
            },
            "skipped": [c.name for c in self.skipped],
            "engine": self.engine,
            "comparison": self.comparison,
            "source": self.source,
            "source_instance": self.source_instance,
            "target": self.target,
            "snapshot": {"id": self.snapshot_id, "time": self.snapshot_time},
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "timings": [asdict(t) for t in self.timings],
            "checks": [c.to_dict() for c in self.checks],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckReport:
        """A report from its JSON, of this layout or an older one (read as this one)."""
        version = data.get("schema_version", 1)
        if not isinstance(version, int) or not 1 <= version <= REPORT_SCHEMA_VERSION:
            raise ValueError(f"unsupported report schema_version {version!r}")
        snapshot = data.get("snapshot") or {}
        return cls(
            checks=tuple(CheckResult.from_dict(c, version) for c in data["checks"]),
            timings=tuple(Timing(**t) for t in data["timings"]),
            engine=data["engine"],
            source=data.get("source"),
            target=data["target"],
            started_at=data["started_at"],
            finished_at=data["finished_at"],
            snapshot_id=snapshot.get("id"),
            snapshot_time=snapshot.get("time"),
            comparison=data.get("comparison", "none"),
            source_instance=data.get("source_instance"),
        )
