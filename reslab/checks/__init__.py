"""Integrity checks for restored databases: stdlib + psycopg/PyMySQL (+ PyYAML for YAML files).

Public API (importable without typer, rich or boto3, so Lambda zips can vendor it)::

    fp = fingerprint("postgresql://...")            # Fingerprint; fp.to_dict() is JSON
    report = run_checks(fp, target_url, "expect.yaml", snapshot_time=..., previous=None)
    report.verdict                                  # "pass" | "fail"

Every check a report can hold is a row of ``CATALOGUE`` (``reslab.checks.catalogue``).
"""

from reslab.checks.catalogue import CATALOGUE, CheckSpec
from reslab.checks.errors import DatabaseUnreachable, InvalidExpectations, UnsupportedConnection
from reslab.checks.expectations import Expectations, load_expectations
from reslab.checks.fingerprint import fingerprint
from reslab.checks.model import (
    REPORT_SCHEMA_VERSION,
    CheckReport,
    CheckResult,
    Fingerprint,
    TableFingerprint,
)
from reslab.checks.quoting import quote_ident
from reslab.checks.runner import run_checks

__all__ = [
    "CATALOGUE",
    "REPORT_SCHEMA_VERSION",
    "CheckReport",
    "CheckResult",
    "CheckSpec",
    "DatabaseUnreachable",
    "Expectations",
    "Fingerprint",
    "InvalidExpectations",
    "TableFingerprint",
    "UnsupportedConnection",
    "fingerprint",
    "load_expectations",
    "quote_ident",
    "run_checks",
]
