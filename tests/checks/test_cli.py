"""`reslab db-diff` as a user runs it: a subprocess, exit codes 0 / 1 / 2, --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from reslab.checks import REPORT_SCHEMA_VERSION
from tests.checks.sample import Pair

ROOT = Path(__file__).resolve().parents[2]


def db_diff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reslab", "db-diff", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_match_exits_0_and_mismatch_exits_1_listing_failures(pair: Pair) -> None:
    same = db_diff(pair.source, pair.target)
    assert same.returncode == 0, same.stderr
    assert "MATCH" in same.stdout
    pair.on_target("DELETE FROM orders WHERE id = 1")
    diff = db_diff(pair.source, pair.target)
    assert diff.returncode == 1, diff.stderr
    assert "data.row_count[orders]" in diff.stdout
    assert "data.checksum[orders]" in diff.stdout
    assert "MISMATCH" in diff.stdout


def test_json_output_is_the_report(pair: Pair, tmp_path: Path) -> None:
    expect = tmp_path / "expect.json"
    expect.write_text(json.dumps({"schema_version": 1, "min_rows": {"orders": 5000}}))
    result = db_diff(pair.source, pair.target, "--expectations", str(expect), "--json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["schema_version"] == REPORT_SCHEMA_VERSION
    assert report["verdict"] == "fail"
    assert [c["name"] for c in report["checks"] if c["status"] == "fail"] == [
        "expect.min_rows[orders]"
    ]


def test_usage_errors_exit_2_with_a_named_error(pg_url: str, tmp_path: Path) -> None:
    bad_url = db_diff("ftp://host/db", pg_url)
    assert bad_url.returncode == 2
    assert bad_url.stderr.strip().splitlines()[-1].startswith("InvalidDatabaseUrl: ")
    no_db = db_diff(pg_url, "postgresql://postgres@127.0.0.1:5432")
    assert no_db.returncode == 2
    assert "InvalidDatabaseUrl: the database URL names no database" in no_db.stderr
    bad_file = tmp_path / "bad.yaml"
    bad_file.write_text("schema_version: 7\n")
    bad_exp = db_diff(pg_url, pg_url, "--expectations", str(bad_file))
    assert bad_exp.returncode == 2
    assert bad_exp.stderr.strip().splitlines()[-1] == (
        "InvalidExpectations: schema_version must be 1, got 7"
    )
    missing_arg = db_diff(pg_url)
    assert missing_arg.returncode == 2


def test_db_diff_imports_only_what_it_needs(pg_url: str) -> None:
    """``reslab db-diff`` runs alone: none of the other commands' packages are imported, nor,
    for a MATCH, the report package (its sentences and pages serve a mismatch or --json)."""
    code = (
        "import sys\n"
        f"sys.argv = ['reslab', 'db-diff', {pg_url!r}, {pg_url!r}]\n"
        "from reslab.cli.app import main\n"
        "try:\n    main()\nexcept SystemExit as done:\n    assert done.code == 0, done.code\n"
        "heavy = {'boto3', 'botocore', 'moto', 'rich', 'typer', 'pydantic', 'pymysql',"
        " 'reslab.cli.deploy_cmds', 'reslab.localcloud', 'reslab.reports'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "MATCH: all" in result.stdout


def test_the_whole_cli_still_lists_db_diff_and_hands_it_its_arguments() -> None:
    from typer.testing import CliRunner

    from reslab.cli.app import app

    listed = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and "db-diff" in listed.stdout
    helped = CliRunner().invoke(app, ["db-diff", "--help"], env={"COLUMNS": "200"})
    assert helped.exit_code == 0 and "--expectations PATH" in helped.stdout
    refused = CliRunner().invoke(app, ["db-diff", "ftp://host/db", "mysql://root@h/db"])
    assert refused.exit_code == 2


def test_help_states_the_default_workers() -> None:
    from reslab.checks.chunks import DEFAULT_WORKERS
    from reslab.cli import db_cmds

    assert db_cmds.DEFAULT_WORKERS == DEFAULT_WORKERS
    assert f"default {DEFAULT_WORKERS})" in " ".join(db_cmds.parser().format_help().split())


def test_bad_workers_is_a_usage_error(pg_url: str) -> None:
    refused = db_diff(pg_url, pg_url, "--workers", "0")
    assert refused.returncode == 2
    assert "--workers: must be at least 1, got 0" in refused.stderr


def test_the_script_ends_without_a_final_garbage_collection(pg_url: str) -> None:
    """``reslab`` (``main``) leaves its objects out of the exit's last collection (frozen), which
    after a db-diff cost 0.05-0.1 s of CPU while the caller waited; exit handlers still run."""
    code = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0))\n"
        f"sys.argv = ['reslab', 'db-diff', {pg_url!r}, {pg_url!r}]\n"
        "from reslab.cli.app import main\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "MATCH: all" in result.stdout
    assert result.stdout.strip().endswith("frozen at exit: True")
