"""``reslab deploy/destroy/status`` as subprocesses: exit codes, --json, the last stderr line.

The subprocesses reuse this session's local cloud through ``.reslab/local.json`` in their working
directory (what ``reslab local up`` writes), so the test can inject faults and read history.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reslab import execution
from reslab.event import local_event
from reslab.localcloud.state import write_state
from reslab_lambda.stacks import stack_table
from tests.deploy.conftest import REGIONS

RESLAB = [sys.executable, "-m", "reslab"]


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    env.pop("AWS_PROFILE", None)
    return subprocess.run(
        [*RESLAB, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=240
    )


def last_line(text: str) -> str:
    return text.rstrip("\n").splitlines()[-1]


@pytest.fixture
def workdir(tmp_path: Path, cloud: Any) -> Path:
    write_state(cloud.endpoint_url, tmp_path)
    return tmp_path


def write_event(workdir: Path, name: str, **changes: Any) -> Path:
    event = local_event(name, {"stack_prefix": name.capitalize(), **changes})
    path = workdir / "event.json"
    path.write_text(json.dumps(event))
    return path


def test_invalid_event_exits_1_with_the_error_last(tmp_path: Path) -> None:
    path = write_event(tmp_path, "clibad", workshop="no #hash")
    result = run(["deploy", "--local", "--event", str(path), "--name", "clibad"], tmp_path)
    assert result.returncode == 1
    assert last_line(result.stderr).startswith("InvalidEvent: workshop: ")


def test_deploy_status_destroy_with_the_real_templates(workdir: Path, cloud: Any) -> None:
    path = write_event(workdir, "clifull")
    result = run(
        ["deploy", "--local", "--event", str(path), "--json", "--name", "clifull"], workdir
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "SUCCEEDED"
    stacks = outcome["output"]["stacks"]
    # every stack up; the two-region DMS mode's (opt-in, event dms) skipped
    dms_mode = {spec.key for spec in stack_table() if spec.switch == "dms"}
    assert {k: e["status"] for k, e in stacks.items() if k in dms_mode} == dict.fromkeys(
        dms_mode, "SKIPPED"
    )
    assert {e["status"] for k, e in stacks.items() if k not in dms_mode} == {"CREATE_COMPLETE"}
    assert stacks["replica"]["region"] == "us-west-2"
    assert "website:" in result.stderr and "database:" in result.stderr
    # progress: the install, each stack, each step of the nested backup check; then what next
    assert "installing the lab machinery (clifull" in result.stderr
    assert re.search(r"installing the lab machinery .*: done in \d+\.\ds", result.stderr)
    assert "backup check: Run checks (" in result.stderr
    assert not re.search(r" -\d+\.\ds", result.stderr)  # no negative elapsed time
    assert "next:" in result.stderr and "reslab inject instance --local" in result.stderr

    sfn = cloud.client("stepfunctions", "us-east-2")
    states = execution.entered_states(sfn, outcome["executionArn"])
    assert states[0] == "Validate event"
    assert states.index("Collect VPC + Storage + SecondaryVPC") < states.index("Create Database")
    assert states.index("Collect Database") < states.index("Create Web")

    status = run(["status", "--local", "--event", str(path), "--name", "clifull"], workdir)
    assert status.returncode == 0, status.stderr
    assert "ClifullWeb" in status.stdout
    as_json = run(["status", "--local", "--event", str(path), "--json"], workdir)
    assert as_json.returncode == 0, as_json.stderr
    stacks = json.loads(as_json.stdout)["stacks"]
    assert stacks["web"] == {
        "name": "ClifullWeb",
        "region": "us-east-2",
        "status": "CREATE_COMPLETE",
    }

    s3 = cloud.client("s3", "us-east-2")
    (storage,) = cloud.client("cloudformation", "us-east-2").describe_stacks(
        StackName="ClifullStorage"
    )["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in storage["Outputs"]}
    lab_buckets = {outputs["WebsiteBucketName"], outputs["ReportBucketName"]}

    # the nested backup check's evidence is in the INSTALLER's report bucket, which is the
    # default of `reslab reports` and outlives the lab
    (installer,) = cloud.client("cloudformation", "us-east-2").describe_stacks(StackName="clifull")[
        "Stacks"
    ]
    evidence = {o["OutputKey"]: o["OutputValue"] for o in installer["Outputs"]}
    evidence_bucket = evidence["ReportBucketName"]
    listed = run(
        ["reports", "--local", "--name", "clifull", "--stack-prefix", "Clifull", "--json"], workdir
    )
    assert listed.returncode == 0, listed.stderr
    [report] = json.loads(listed.stdout)
    assert report["verdict"] == "pass"
    assert s3.head_object(Bucket=evidence_bucket, Key=report["key"])

    destroyed = run(["destroy", "--local", "--event", str(path), "--name", "clifull"], workdir)
    assert destroyed.returncode == 0, destroyed.stderr[-3000:]
    assert re.fullmatch(
        r"destroyed: 5 stack\(s\) of workshop 'reslab-local' \(ClifullVPC, .*\) in \d+\.\ds",
        last_line(destroyed.stderr),
    ), destroyed.stderr[-2000:]
    remaining = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert not lab_buckets & remaining
    assert evidence_bucket in remaining
    for region in REGIONS:
        left = cloud.client("cloudformation", region).describe_stacks()["Stacks"]
        assert not [s for s in left if s["StackName"].startswith("Clifull")]


def test_stack_failure_exits_1_with_stack_failed_last(workdir: Path, cloud: Any) -> None:
    path = write_event(workdir, "clifail")
    with cloud.failing_stacks("ClifailVPC", "subnet quota exceeded (injected)"):
        result = run(["deploy", "--local", "--event", str(path), "--name", "clifail"], workdir)
    assert result.returncode == 1
    line = last_line(result.stderr)
    assert line.startswith("StackFailed: stack ClifailVPC ")
    assert "subnet quota exceeded (injected)" in line
    destroyed = run(["destroy", "--local", "--event", str(path), "--name", "clifail"], workdir)
    assert destroyed.returncode == 0, destroyed.stderr[-3000:]
