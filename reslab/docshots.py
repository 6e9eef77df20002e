"""``make docs-screenshots``: real screenshots of the lab for docs/images/ (never drawn by hand).

Starts an embedded local cloud, deploys a lab with the real deploy machine (backup check
included), then with headless Chromium (:mod:`reslab.browser`):

- ``lab-page.png``: the lab's page from the local web tier, as a participant sees it;
- ``backup-report-pass.png``: the HTML report of that deploy's backup check (from the report
  bucket);
- ``chart-rds-failover.png``: the probe's chart of ``reslab inject rds --probe`` on that lab (the
  local failover drops the database for 1 s: a real, short outage).

``python -m reslab.docshots [--out docs/images]``; :func:`deploy_local_lab` is shared with the
browser tests.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path
from typing import Any

from reslab import REPO_ROOT

OUT = REPO_ROOT / "docs" / "images"
REGION = "us-east-2"
VIEWPORT = (1100, 760)
#: colours kept when a screenshot is stored (a palette PNG is a third of the size; text stays sharp)
PALETTE_COLOURS = 64


def shrink(path: Path) -> Path:
    """Store the PNG with an adaptive palette (Pillow comes with matplotlib)."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(PALETTE_COLOURS, Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
    return path


def deploy_local_lab(cloud: Any, name: str, backup_check: bool = False) -> Any:
    """Install and deploy a lab named ``name`` in the local cloud; its :class:`Lab`."""
    from reslab import execution
    from reslab.chaos.lab import Lab
    from reslab.event import local_event, validate_event
    from reslab.installer.install import install

    prefix = name.replace("-", "").capitalize()
    overrides = {"stack_prefix": prefix, "workshop": f"reslab {name}"}
    if not backup_check:
        overrides["skip_backup_check"] = True
    event = validate_event(local_event(name, overrides))
    installation = install(cloud.client, name, event)
    sfn = cloud.client("stepfunctions", REGION)
    arn = execution.start(sfn, installation.machines["deploy"], event, "deploy")
    execution.wait(sfn, arn, poll_seconds=0.5).raise_for_status()
    return Lab(REGION, event["workshop"], prefix, endpoint_url=cloud.endpoint_url)


def newest_report_html(cloud: Any) -> str:
    """The HTML of the newest backup-check report in any bucket of the local cloud."""
    s3 = cloud.client("s3", REGION)
    found: list[tuple[Any, str, str]] = []
    for bucket in s3.list_buckets()["Buckets"]:
        listing = s3.list_objects_v2(Bucket=bucket["Name"], Prefix="reports/")
        found += [
            (o["LastModified"], bucket["Name"], o["Key"])
            for o in listing.get("Contents", [])
            if o["Key"].endswith("report.html")
        ]
    if not found:
        raise FileNotFoundError("no report.html under reports/ in any bucket")
    _when, bucket_name, key = max(found)
    return str(s3.get_object(Bucket=bucket_name, Key=key)["Body"].read().decode("utf-8"))


def generate(out: Path) -> list[Path]:
    from reslab.browser import Browser
    from reslab.chaos.faults import Options
    from reslab.chaos.journal import Journal
    from reslab.chaos.probe import SteadyStateProbe
    from reslab.chaos.runner import inject
    from reslab.localcloud import LocalCloud

    written = []
    with LocalCloud() as cloud, tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        print("deploying a lab on the local cloud (with its backup check)...", flush=True)
        lab = deploy_local_lab(cloud, "docs", backup_check=True)
        url = lab.output("Web", "WebsiteURL")
        with Browser(*VIEWPORT) as browser:
            written.append(browser.open(url).screenshot(out / "lab-page.png"))
            report = work / "report.html"
            report.write_text(newest_report_html(cloud), encoding="utf-8")
            page = browser.open(report.as_uri())
            written.append(page.screenshot(out / "backup-report-pass.png"))
        print("reslab inject rds --probe on it...", flush=True)
        inject(
            lab,
            "rds",
            Options(),
            Journal(work / "journal"),
            duration=None,
            probe=SteadyStateProbe(url, interval=0.25),
            baseline_s=3.0,
            observe_s=5.0,
            report_dir=work / "rds",
            say=lambda _text: None,
        )
        chart = out / "chart-rds-failover.png"
        shutil.copyfile(work / "rds" / "timeline.png", chart)
        written.append(chart)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m reslab.docshots", description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT, help="directory (docs/images)")
    args = parser.parse_args(argv)
    for path in generate(args.out):
        shrink(path)
        print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
