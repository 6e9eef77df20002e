"""cfn-lint (errors, warnings) and checkov over the real templates, and that both bite."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.decode.cfn_yaml import loads as cfn_yaml_loads

from reslab.templates import TEMPLATE_DIR, lint, load_stack_table, load_template

TEMPLATE_FILES = [spec.template for spec in load_stack_table()]
CHECKOV = Path(sys.executable).with_name("checkov")


@pytest.mark.parametrize("template", TEMPLATE_FILES)
def test_cfn_lint_finds_nothing(template: str) -> None:
    findings = lint([template])
    assert findings == [], "\n".join(map(str, findings))


def test_lint_reports_errors_and_warnings(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "Parameters:\n"
        "  Unused: {Type: String}\n"
        "Resources:\n"
        "  Bucket:\n"
        "    Type: AWS::S3::Bucket\n"
        "    Properties: {NoSuchProperty: 1}\n"
    )
    findings = lint([bad])
    assert {f.severity for f in findings} >= {"error", "warning"}
    assert any(f.rule == "E3002" and f.line == 6 for f in findings), findings


@pytest.mark.parametrize("template", TEMPLATE_FILES)
def test_own_loader_agrees_with_cfn_lint_decoder(template: str) -> None:
    ours = load_template(template)
    theirs = json.loads(json.dumps(cfn_yaml_loads((TEMPLATE_DIR / template).read_text())))
    assert ours == theirs


def run_checkov(directory: Path) -> dict:
    result = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(directory),
            "--framework",
            "cloudformation",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    report = json.loads(result.stdout)
    return report[0] if isinstance(report, list) else report


@pytest.fixture(scope="module")
def checkov_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One checkov run over copies of the templates plus a deliberately open bucket."""
    directory = tmp_path_factory.mktemp("checkov")
    for name in TEMPLATE_FILES:
        shutil.copy(TEMPLATE_DIR / name, directory / name)
    (directory / "open.yaml").write_text(
        "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n    Properties: {}\n"
    )
    return run_checkov(directory)


def test_checkov_passes_and_every_skip_is_justified(checkov_report: dict) -> None:
    summary, results = checkov_report["summary"], checkov_report["results"]
    assert summary["parsing_errors"] == 0
    failed = [(c["check_id"], c["file_path"], c["resource"]) for c in results["failed_checks"]]
    assert [f for f in failed if Path(f[1]).name != "open.yaml"] == []
    scanned = {Path(c["file_path"]).name for c in results["passed_checks"]}
    assert scanned >= set(TEMPLATE_FILES)
    for check in results["skipped_checks"]:
        resource = check["resource"].split(".", 1)[1]
        template = load_template(Path(check["file_path"]).name)
        skips = template["Resources"][resource]["Metadata"]["checkov"]["skip"]
        [skip] = [s for s in skips if s["id"] == check["check_id"]]
        assert len(skip["comment"].split()) >= 5, check["check_id"]


def test_checkov_finds_an_open_bucket(checkov_report: dict) -> None:
    failed = checkov_report["results"]["failed_checks"]
    assert {Path(c["file_path"]).name for c in failed} == {"open.yaml"}
    assert len(failed) >= 3


def test_cfn_lint_command_line_is_clean() -> None:
    """The exact quality bar: `.venv/bin/cfn-lint cloudformation/*.yaml` prints nothing, exit 0."""
    files = [str(TEMPLATE_DIR / name) for name in TEMPLATE_FILES]
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), *files],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
