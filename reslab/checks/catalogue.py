"""The check catalogue: every check a run can report, one row each.

A row is the one definition of a check: its id (the report's ``name``; a check made once per
table, column or assertion adds ``[subject]``), its category, the engines it runs on, when it
applies, what it proves in words an auditor reads, and the rule it passes by. The checks build
their results from their row (:meth:`CheckSpec.result`), the HTML report shows the row's
description, and the table in docs/checks.md is generated from the rows
(``python -m reslab.reports.catalogue_doc``).

A row also says how a failure reads (``failure_means``: a sentence template the HTML report
and ``reslab db-diff`` fill in with the measured and expected values) and when the check is
reported as SKIP (``skipped_when``): :meth:`CheckSpec.skipped` is the one place a check that
could not run is reported, and such a check is never a pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from reslab.checks.model import CheckResult, Status

Applies = Literal["always", "source", "previous", "expectations"]

#: When a row applies, in the docs' words.
APPLIES: dict[str, str] = {
    "always": "every run",
    "source": "the target is compared with a live source database or the source's fingerprint",
    "previous": "the target is compared with an earlier fingerprint of itself",
    "expectations": "the expectations file asks for it",
}
#: Engine key (``Fingerprint.engine``) -> the name readers know it by.
ENGINES: dict[str, str] = {"postgres": "PostgreSQL", "mysql": "MySQL/MariaDB"}
ALL_ENGINES = tuple(ENGINES)


@dataclass(frozen=True)
class CheckSpec:
    """One check: ``result()`` makes its verdicts, the other fields document it."""

    id: str
    category: str
    applies: Applies
    #: What a pass proves, in one line an auditor understands.
    description: str
    #: The exact rule (Markdown), for the engineer.
    passes_when: str
    #: Why a failure matters, as a sentence template: ``{measured}``, ``{expected}`` (">= 5"
    #: reads "at least 5"), ``{bound}`` (the expected value alone), ``{subject}``, ``{details}``
    #: (filled in by ``reslab.reports.explain``).
    failure_means: str
    #: What one check of this kind is about (``T`` table, ``T.C`` column, ``NAME``), or None.
    subject: str | None = None
    engines: tuple[str, ...] = ALL_ENGINES
    #: When the check cannot run and is reported as SKIP (empty: it always runs).
    skipped_when: str = ""

    @property
    def pattern(self) -> str:
        """The reported name with the subject as a placeholder: ``data.row_count[T]``."""
        return self.name(self.subject)

    def name(self, subject: str | None = None) -> str:
        if (subject is None) != (self.subject is None):
            wanted = f"a subject ({self.subject})" if self.subject else "no subject"
            raise ValueError(f"check {self.id} takes {wanted}")
        return self.id if subject is None else f"{self.id}[{subject}]"

    def result(
        self,
        ok: bool,
        measured: Any,
        expected: Any,
        details: str = "",
        *,
        subject: str | None = None,
    ) -> CheckResult:
        """A verdict of this check: pass when ``ok``."""
        status: Status = "pass" if ok else "fail"
        return CheckResult(self.name(subject), self.category, status, measured, expected, details)

    def skipped(
        self, reason: str, measured: Any = None, expected: Any = None, *, subject: str | None = None
    ) -> CheckResult:
        """The check could not run here: status ``skip`` (never a pass), ``reason`` as details."""
        if not self.skipped_when:
            raise ValueError(f"check {self.id} declares no skipped_when: it always runs")
        name = self.name(subject)
        return CheckResult(name, self.category, "skip", measured, expected, reason)


ENGINE_VERSION = CheckSpec(
    "engine.version",
    "engine",
    "always",
    "The restored database runs the same database engine and version as the one backed up.",
    'same engine and version as the baseline; with `engine_version: "15"` in the expectations,'
    " `15` or `15.*`; no baseline: recorded",
    failure_means="the restored copy runs {measured}, expected {expected}",
)
TABLE_COUNT = CheckSpec(
    "schema.table_count",
    "schema",
    "always",
    "The restored database holds as many tables as the database it came from.",
    "equal to the source; ≥ previous minus `allow_shrink` tables; no baseline: recorded",
    failure_means="the restored copy holds {measured} tables, expected {expected}",
)
USER_COUNT = CheckSpec(
    "security.user_count",
    "security",
    "always",
    "The database users (roles) came back with the restore.",
    "roles (PostgreSQL, without `pg_*`) / `mysql.user` rows equal to the source, ≥ previous;"
    " recorded when there is no baseline or the baseline is on the same server (roles are per"
    " server, so shared)",
    failure_means="the restored copy has {measured} database users (roles), expected {expected}",
    skipped_when="the checking login may not read the users (MySQL: `mysql.user`)",
)
TABLES = CheckSpec(
    "schema.tables",
    "schema",
    "source",
    "Every table of the source exists in the restore, and no other.",
    "same set of base tables",
    failure_means="the restored copy's tables differ from the source's: {details}",
)
COLUMNS = CheckSpec(
    "schema.columns",
    "schema",
    "source",
    "The table has the same columns, types and NULL rules as in the source.",
    "same columns in the same order: name, type, nullability",
    failure_means="the columns of `{subject}` differ from the source's: {details}",
    subject="T",
)
INDEXES = CheckSpec(
    "schema.indexes",
    "schema",
    "source",
    "The table has the same indexes as in the source.",
    "same indexes: name, key columns, unique, method",
    failure_means="the indexes of `{subject}` differ from the source's: {details}",
    subject="T",
)
ROW_COUNT = CheckSpec(
    "data.row_count",
    "data",
    "source",
    "The table holds as many rows as in the source.",
    "same row count",
    failure_means="the restored copy holds {measured} rows of `{subject}`, the source {expected}",
    subject="T",
)
CHECKSUM = CheckSpec(
    "data.checksum",
    "data",
    "source",
    "The table's content is identical to the source's, value for value.",
    'same order-independent content checksum (fails as "not comparable" when the column lists'
    " or algorithms differ)",
    failure_means="the content of `{subject}` differs from the source's: at least one value"
    " was changed, added or lost",
    subject="T",
)
NOT_SHRUNK = CheckSpec(
    "data.not_shrunk",
    "data",
    "previous",
    "The table lost no rows since the previous verified backup.",
    "table present with ≥ the previous row count, unless `T` is in `allow_shrink`",
    failure_means="the restored copy holds {measured} rows of `{subject}`, the previous verified"
    " backup {bound}",
    subject="T",
)
REQUIRED_TABLE = CheckSpec(
    "expect.required_table",
    "expectations",
    "expectations",
    "A table the database owner requires exists.",
    "table exists",
    failure_means="the required table `{subject}` is missing from the restored copy",
    subject="T",
)
MIN_ROWS = CheckSpec(
    "expect.min_rows",
    "expectations",
    "expectations",
    "A table holds at least the number of rows the database owner requires.",
    "row count ≥ minimum",
    failure_means="the restored copy holds {measured} rows of `{subject}`, the owner requires"
    " {expected}",
    subject="T",
)
FRESHNESS = CheckSpec(
    "freshness",
    "freshness",
    "expectations",
    "The newest record is recent enough: the backup meets its recovery point objective (RPO).",
    "`snapshot_time − max(C)` ≤ `max_lag_seconds` (now when no snapshot time is given)",
    failure_means="the newest `{subject}` is {measured} s older than the snapshot, {expected}"
    " allowed: the backup misses its recovery point objective",
    subject="T.C",
)
AMCHECK = CheckSpec(
    "consistency.amcheck",
    "consistency",
    "always",
    "PostgreSQL's own integrity checker finds no damaged index.",
    "`bt_index_check` passes on every valid btree index: with the amcheck extension the"
    " database has, or else one created for the check inside a transaction that is rolled back"
    " (nothing of it is ever committed to the database checked)",
    failure_means="PostgreSQL's integrity checker found damaged indexes: {details}",
    engines=("postgres",),
    skipped_when="amcheck is not installed in the database and the login may not add it for"
    " the check (`CREATE EXTENSION`), or may not run its functions",
)
CHECK_TABLE = CheckSpec(
    "consistency.check_table",
    "consistency",
    "always",
    "MySQL's own integrity check (CHECK TABLE) finds no damaged table.",
    "`CHECK TABLE` reports OK for every table (batches of 50)",
    failure_means="CHECK TABLE found damage: {details}",
    engines=("mysql",),
)
ASSERTION = CheckSpec(
    "assert",
    "assertions",
    "expectations",
    "A rule the database owner wrote as SQL holds on the restored data.",
    "the SQL's first column of the first row compares as expected",
    failure_means="the owner's rule `{subject}` does not hold: its SQL returned {measured},"
    " expected {expected}",
    subject="NAME",
)

#: Every check, in the order a run reports them.
CATALOGUE: tuple[CheckSpec, ...] = (
    ENGINE_VERSION,
    TABLE_COUNT,
    USER_COUNT,
    TABLES,
    COLUMNS,
    INDEXES,
    ROW_COUNT,
    CHECKSUM,
    NOT_SHRUNK,
    REQUIRED_TABLE,
    MIN_ROWS,
    FRESHNESS,
    AMCHECK,
    CHECK_TABLE,
    ASSERTION,
)
BY_ID: dict[str, CheckSpec] = {spec.id: spec for spec in CATALOGUE}


def spec_for(name: str) -> CheckSpec | None:
    """The row of a reported check name (``data.row_count[orders]`` -> ``data.row_count``)."""
    return BY_ID.get(name.split("[", 1)[0])
