"""The lab's page as a participant sees it, on a lab deployed by the real deploy machine into the
shared local cloud: the mode chosen in the event, switched by a stack update (`reslab mode`),
shown on the page, in /api/status and by `reslab status`; the picture read from the lab's bucket
through a presigned URL, which `reslab inject s3 --probe` breaks and measures."""

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

from reslab import REPO_ROOT, execution
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
        return self._run(*args, "--local", "--event", str(self.event_file), "--name", self.name)

    def inject(self, *args: str) -> subprocess.CompletedProcess[str]:
        lab = ["--local", "--workshop", f"reslab page {self.name}", "--stack-prefix", self.prefix]
        return self._run("inject", *args, *lab)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
        env.pop("AWS_PROFILE", None)
        return subprocess.run(
            [sys.executable, "-m", "reslab", *args],
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


def test_the_page_shows_the_bucket_image_and_inject_s3_breaks_it_for_the_probe(
    page_lab: PageLab, tmp_path: Path
) -> None:
    url = page_lab.output("Web", "WebsiteURL")
    page = requests.get(url, timeout=10).text
    for shown in (f'id="workshop">reslab page {page_lab.name}<', 'id="instance-id">i-'):
        assert shown in page
    image_url = api_status(url)["image_url"]
    bucket = page_lab.output("Storage", "WebsiteBucketName")
    endpoint = page_lab.cloud.endpoint_url
    # presigned for the local S3: the browser reads the picture from the lab's private bucket
    assert image_url.startswith(f"{endpoint}/{bucket}/website-image.svg?X-Amz-")
    assert f'<img id="website-image" src="{image_url.replace("&", "&amp;")}"' in page
    image = requests.get(image_url, timeout=10)
    assert image.status_code == 200
    assert image.headers["Content-Type"] == "image/svg+xml"
    assert image.content == (REPO_ROOT / "webapp/static/website-image.svg").read_bytes()
    assert requests.get(image_url.split("?")[0], timeout=10).status_code == 403  # private

    injected = page_lab.inject(
        "s3", "--probe", "--duration", "1.5", "--baseline", "0.6", "--observe", "0.8",
        "--probe-interval", "0.2", "--json", "--journal-dir", str(tmp_path / "journal"),
        "--report-dir", str(tmp_path / "report"),
    )  # fmt: skip
    assert injected.returncode == 0, injected.stderr
    assert "probing the website image the page shows" in injected.stderr
    result = json.loads(injected.stdout)
    summary = result["summary"]
    assert 0 < summary["availability"] < 100
    statuses = {s["status"] for s in result_samples(tmp_path / "report")}
    assert {200, 403} <= statuses
    assert requests.get(image_url, timeout=10).status_code == 200  # reverted after 1.5 s


def result_samples(report_dir: Path) -> list[dict[str, Any]]:
    report = json.loads((report_dir / "report.json").read_text())
    return report["probe"]["samples"]  # type: ignore[no-any-return]


def test_mode_names_what_it_cannot_switch(local_cloud: Any) -> None:
    from reslab.webmode import LabNotDeployed, set_mode

    prefix = unique_prefix("nomode").replace("-", "").capitalize()
    event = {"stack_prefix": prefix, "region_name": REGION}
    with pytest.raises(LabNotDeployed, match=f"stack {prefix}Web does not exist in {REGION}"):
        set_mode(local_cloud.client, event, "resilient", 0.1)
    cfn = local_cloud.client("cloudformation", REGION)
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    cfn.create_stack(StackName=f"{prefix}Web", TemplateBody=json.dumps(template))
    with pytest.raises(LabNotDeployed, match="has no WebAppMode parameter"):
        set_mode(local_cloud.client, event, "resilient", 0.1)
    cfn.delete_stack(StackName=f"{prefix}Web")
