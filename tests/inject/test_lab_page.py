"""The lab's page as a participant sees it, on a lab deployed by the real deploy machine into the
shared local cloud: the mode chosen in the event, switched by a stack update (`reslab mode`),
shown on the page, in /api/status and by `reslab status`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from reslab import execution
from reslab.event import local_event, validate_event
from reslab.installer.install import install
from reslab.localcloud.state import write_state
from reslab.localcloud.testing import unique_prefix

REGION = "us-east-2"


@dataclass
class PageLab:
    cloud: Any
    name: str
    prefix: str
    event_file: Path
    workdir: Path

    def output(self, suffix: str, key: str) -> str:
        cfn = self.cloud.client("cloudformation", REGION)
        (stack,) = cfn.describe_stacks(StackName=f"{self.prefix}{suffix}")["Stacks"]
        return next(o["OutputValue"] for o in stack["Outputs"] if o["OutputKey"] == key)

    def reslab(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A reslab command as a participant runs it (finds the cloud via .reslab/local.json)."""
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
        env.pop("AWS_PROFILE", None)
        common = ["--local", "--event", str(self.event_file), "--name", self.name]
        return subprocess.run(
            [sys.executable, "-m", "reslab", *args, *common],
            cwd=self.workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture(scope="module")
def page_lab(local_cloud: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PageLab]:
    name = unique_prefix("page")
    prefix = name.replace("-", "").capitalize()
    raw = local_event(
        name,
        {
            "stack_prefix": prefix,
            "workshop": f"reslab page {name}",
            "webapp_mode": "resilient",
            "skip_backup_check": True,
        },
    )
    raw.pop("secondary_region_name")  # no replica: the page does not need one
    event = validate_event(raw)
    installation = install(local_cloud.client, name, event)
    sfn = local_cloud.client("stepfunctions", REGION)
    arn = execution.start(sfn, installation.machines["deploy"], event, "deploy")
    execution.wait(sfn, arn, poll_seconds=0.5).raise_for_status()
    workdir = tmp_path_factory.mktemp("page")
    write_state(local_cloud.endpoint_url, workdir)
    event_file = workdir / "event.json"
    event_file.write_text(json.dumps(raw))
    yield PageLab(local_cloud, name, prefix, event_file, workdir)
    for suffix in ("Web", "Database"):
        local_cloud.client("cloudformation", REGION).delete_stack(StackName=f"{prefix}{suffix}")


def api_status(url: str) -> dict[str, Any]:
    answer = requests.get(f"{url}api/status", timeout=10)
    assert answer.status_code == 200
    return answer.json()  # type: ignore[no-any-return]


def test_the_mode_of_the_event_is_deployed_and_switched_by_a_stack_update(
    page_lab: PageLab,
) -> None:
    url = page_lab.output("Web", "WebsiteURL")
    assert api_status(url)["mode"] == "resilient"
    assert 'id="mode">resilient<' in requests.get(url, timeout=10).text
    assert page_lab.output("Web", "WebAppMode") == "resilient"

    switched = page_lab.reslab("mode", "fragile")
    assert switched.returncode == 0, switched.stderr
    assert switched.stdout.strip().startswith(f"{page_lab.prefix}Web: resilient -> fragile (")
    assert "UPDATE_COMPLETE" in switched.stderr
    assert page_lab.output("Web", "WebsiteURL") == url  # the same site, not a redeploy
    assert api_status(url)["mode"] == "fragile"
    assert 'id="mode">fragile<' in requests.get(url, timeout=10).text

    again = page_lab.reslab("mode", "fragile")
    assert again.returncode == 0, again.stderr
    assert "already fragile, nothing to update" in again.stdout

    status = page_lab.reslab("status")
    assert status.returncode == 0, status.stderr
    assert "mode:     fragile" in status.stdout

    bad = page_lab.reslab("mode", "sturdy")
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines()[-1] == (
        "InvalidMode: 'sturdy' is not one of fragile, resilient"
    )
