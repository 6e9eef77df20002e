"""Fast checks without the local cloud: the event validator, the ASL file, the Slack poster."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from reslab import packaging, slack
from reslab.functions import called_by
from reslab.machines import asl, restore
from reslab.machines.asl import placeholders, render
from reslab.restore.errors import InvalidRestoreEvent, PlaintextSecretRefused
from reslab.restore.event import plaintext_keys, validate
from tests.restore.lab import SlackServer

BASE = {"instance": "db1", "report_bucket": "reports-bucket"}


def test_defaults_filled() -> None:
    event = validate(BASE)
    assert event["snapshot"] == "latest" and event["poll_seconds"] == 30
    assert event["poll_max_seconds"] == 300


def test_poll_cap_seconds_is_still_accepted_as_poll_max_seconds() -> None:
    """The deploy event's name is the one name in code; the restore event's older one stays."""
    assert validate({**BASE, "poll_cap_seconds": 7})["poll_max_seconds"] == 7
    assert "poll_cap_seconds" not in validate({**BASE, "poll_cap_seconds": 7})
    with pytest.raises(InvalidRestoreEvent, match="poll_cap_seconds: an older name"):
        validate({**BASE, "poll_cap_seconds": 7, "poll_max_seconds": 8})
    with pytest.raises(InvalidRestoreEvent, match="poll_max_seconds: expected int"):
        validate({**BASE, "poll_cap_seconds": "7"})


@pytest.mark.parametrize(
    "extra",
    [
        {"password": "x"},
        {"expectations": {"db": {"Passwd": "x"}}},
        {"master-user-pwd": "x"},
        {"slack_webhook_url": "https://hooks.slack.com/x"},
    ],
)
def test_plaintext_refused_anywhere(extra: dict) -> None:
    with pytest.raises(PlaintextSecretRefused) as exc:
        validate({**BASE, **extra})
    assert "x" not in str(exc.value).split("carries", 1)[0]


def test_secret_names_are_fine() -> None:
    assert (
        plaintext_keys({"secret_id": "a", "ssm_parameter": "b", "slack_webhook_parameter": "c"})
        == []
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"instance": None},
        {"poll_seconds": "5"},
        {"bogus": 1},
        {"keep_snapshot": "yes"},
        {"secret_id": "a", "ssm_parameter": "b"},
    ],
)
def test_invalid_events(bad: dict) -> None:
    with pytest.raises(InvalidRestoreEvent):
        validate({k: v for k, v in {**BASE, **bad}.items() if v is not None})


def test_asl_is_current_and_renders() -> None:
    text = asl.load("restore")
    assert text == asl.dumps(restore.definition())
    functions = {fn.placeholder for fn in called_by("restore")}
    assert placeholders(text) == functions
    rendered = json.loads(
        render(text, {p: f"arn:aws:lambda:us-east-2:1:function:{p}" for p in functions})
    )
    for name, state in rendered["States"].items():
        if state["Type"] == "Task":  # every step goes to cleanup+notification on any error
            assert state["Catch"][0]["Next"] == restore.FINISH, name


def test_slack_retries_then_gives_up() -> None:
    waits: list[float] = []
    with SlackServer(status=503).running() as server:
        delivery = slack.post(
            server.url, {"text": "hi"}, attempts=3, backoff=0.1, sleep=waits.append
        )
    assert not delivery.ok and delivery.status == 503 and len(server.posts) == 3
    assert waits == [0.1, 0.2]


def test_slack_does_not_retry_a_client_error() -> None:
    with SlackServer(status=404).running() as server:
        delivery = slack.post(server.url, {"text": "hi"}, sleep=lambda _: None)
    assert not delivery.ok and len(server.posts) == 1


#: Modules each Lambda imports lazily (inside a step), which its zip must therefore carry.
LAZY_IMPORTS = {
    "backup_prepare": ["reslab.checks"],
    "backup_snapshot": ["reslab.checks"],
    "backup_checks": ["reslab.checks", "reslab.reports", "reslab.checks.model"],
    "backup_notify": ["reslab.restore.slack_notice", "reslab.slack"],
}


@pytest.mark.parametrize("folder", sorted(fn.folder for fn in called_by("restore")))
def test_each_zip_is_self_contained(folder: str, tmp_path: Path) -> None:
    """The zip's own ``reslab`` package shadows the venv's: every import must resolve inside."""
    import subprocess
    import sys

    (tmp_path / "f.zip").write_bytes(packaging.local_lambda_zip(packaging.LAMBDAS_DIR / folder))
    with zipfile.ZipFile(tmp_path / "f.zip") as archive:
        archive.extractall(tmp_path / "code")
    code = "import lambda_function, importlib, reslab; "
    code += f"assert reslab.__file__.startswith({str(tmp_path)!r}); "
    code += "".join(f"importlib.import_module({m!r}); " for m in LAZY_IMPORTS.get(folder, []))
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path / "code",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr


def test_test_hook_only_with_the_env_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    from reslab.restore.steps import TEST_HOOK_ENV, _hook_statements

    monkeypatch.delenv(TEST_HOOK_ENV, raising=False)
    assert _hook_statements("DROP TABLE orders") == []
    monkeypatch.setenv(TEST_HOOK_ENV, "1")
    assert _hook_statements("DROP TABLE orders") == ["DROP TABLE orders"]
    assert _hook_statements(["a", "b"]) == ["a", "b"]


def test_restore_roles_are_least_privilege() -> None:
    functions = called_by("restore")
    assert {fn.folder for fn in functions} == {
        "backup_prepare", "backup_snapshot", "backup_restore", "backup_poll", "backup_checks",
        "backup_cleanup", "backup_notify",
    }  # fmt: skip
    for fn in functions:
        actions = {a for grant in fn.policy for a in grant.actions}
        assert not any(a.endswith(":*") for a in actions), fn.folder
        reads_secret = "secretsmanager:GetSecretValue" in actions
        assert reads_secret == (fn.folder in ("backup_snapshot", "backup_checks")), fn.folder


def test_notification_names_skipped_checks_and_never_calls_them_passed() -> None:
    from reslab.restore.slack_notice import summary

    state = {
        "run": {"instance": "db-1"},
        "checks": {"checks": 12, "skipped": ["consistency.amcheck"], "report": "s3://b/k"},
    }
    info = summary(state)
    assert info["ok"] is True
    assert info["text"] == "PASS, 1 check skipped (consistency.amcheck); 11 checks passed"
    state["checks"] = {"checks": 12, "skipped": []}
    assert summary(state)["text"] == "12 checks passed"


def test_predates_data_names_an_empty_restore_of_a_source_with_rows() -> None:
    from reslab.checks.model import Fingerprint, TableFingerprint
    from reslab.restore.steps import predates_data

    def fp(**rows: int) -> Fingerprint:
        tables = {n: TableFingerprint("public", n, (), (), rows=r) for n, r in rows.items()}
        return Fingerprint("postgres", "16", "lab", 1, tables, "2026-12-01T10:00:00Z")

    reason = predates_data(fp(), fp(hits=705, users=3))
    assert reason is not None
    assert "0 table(s), 0 rows) while the source had 705 rows in hits" in reason
    assert reason.endswith("verify a fresh snapshot with --snapshot new")
    assert predates_data(fp(hits=0), fp(hits=705)) is not None  # tables, no rows
    assert predates_data(fp(hits=1), fp(hits=705)) is None  # some data: the checks say what
    assert predates_data(fp(), fp(hits=0)) is None  # the source was empty too
    assert predates_data(fp(), None) is None  # nothing to compare with
