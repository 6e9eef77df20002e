"""Deploy the lab's real templates into the local cloud, outputs feeding parameters (as the
deploy Lambda does per cloudformation/stacks.json), for the local-cloud tests."""

from __future__ import annotations

import json
from pathlib import Path

from cfnlint.decode.cfn_yaml import loads

from reslab.installer.install import ensure_bucket, upload_boot
from reslab.localcloud.testing import wait_for_stack

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "cloudformation"
EVENT_VALUES = {
    "Workshop": "localtest",
    "BootBucket": "boot-bucket",
    "BootPrefix": "lab/",
    "BootObject": "bootstrap.sh",
    "WebsiteImageURL": "",  # the image shipped with the web app (no network in tests)
}


def stack_table() -> list[dict]:
    return json.loads((TEMPLATES / "stacks.json").read_text())["stacks"]


def deploy(cloud, prefix: str, keys: list[str], regions: dict[str, str]) -> dict[str, dict]:
    """Create the stacks ``keys`` in order; returns {key: {"name", "region", "stack"}}."""
    out: dict[str, dict] = {}
    for entry in stack_table():
        if entry["key"] not in keys:
            continue
        body = (TEMPLATES / entry["template"]).read_text()
        params = []
        for name in loads(body).get("Parameters", {}):
            value = EVENT_VALUES.get(name)
            for dep in entry["depends_on"]:
                outputs = {
                    o["OutputKey"]: o["OutputValue"]
                    for o in out.get(dep, {}).get("stack", {}).get("Outputs", [])
                }
                value = outputs.get(name, value)
            if value is not None:
                params.append({"ParameterKey": name, "ParameterValue": value})
        region = regions[entry["region"]]
        if entry["key"] == "web":
            put_boot_objects(cloud, region)
        cfn = cloud.client("cloudformation", region)
        name = f"{prefix}{entry['suffix']}"
        cfn.create_stack(
            StackName=name,
            TemplateBody=body,
            Parameters=params,
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
        )
        out[entry["key"]] = {"name": name, "region": region, "stack": wait_for_stack(cfn, name)}
    return out


def put_boot_objects(cloud, region: str) -> None:
    """What the install uploads and the web instances' user data fetches (bootstrap.sh,
    webapp.tar.gz) in the boot bucket of ``EVENT_VALUES``."""
    s3 = cloud.client("s3", region)
    ensure_bucket(s3, EVENT_VALUES["BootBucket"], region, EVENT_VALUES["Workshop"])
    event = {
        "boot_bucket": EVENT_VALUES["BootBucket"],
        "boot_prefix": EVENT_VALUES["BootPrefix"],
        "boot_object": EVENT_VALUES["BootObject"],
    }
    upload_boot(s3, event)


def delete(cloud, deployed: dict[str, dict]) -> None:
    for info in reversed(list(deployed.values())):
        cfn = cloud.client("cloudformation", info["region"])
        cfn.delete_stack(StackName=info["name"])
