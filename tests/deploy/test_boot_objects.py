"""The objects the web instances fetch are the objects the install uploads (issue 12): with the
builders guide's ``boot_object: ""`` too, and by the manual route of docs/install-aws.md."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest

from reslab import REPO_ROOT, packaging
from reslab.event import validate_event
from reslab.installer.install import ensure_bucket, upload_boot
from reslab.localcloud.testing import unique_prefix
from reslab.templates import load_template
from reslab_lambda.stacks import spec_for
from tests.templates.contract import SAMPLE_EVENT as BUILDERS_GUIDE_EVENT
from tests.templates.parameters import stack_parameters

INSTALL_AWS = REPO_ROOT / "docs" / "install-aws.md"


def fetched_keys(event: dict[str, Any]) -> tuple[str, str]:
    """What a web instance reads from boot_bucket for ``event`` (normalised): the user data's
    ``s3://${BootBucket}/${BootPrefix}${BootObject}``, then bootstrap.sh's
    ``${BOOT_PREFIX%/}/webapp.tar.gz`` (leading '/' dropped)."""
    user_data = load_template("web")["Resources"]["LaunchTemplate"]["Properties"][
        "LaunchTemplateData"
    ]["UserData"]["Fn::Base64"]["Fn::Sub"]
    assert 's3://${BootBucket}/${BootPrefix}${BootObject}"' in user_data
    params = stack_parameters(spec_for("web"), event, {})
    defaults = {k: v.get("Default") for k, v in load_template("web")["Parameters"].items()}
    prefix = params.get("BootPrefix", defaults["BootPrefix"])
    script = prefix + params.get("BootObject", defaults["BootObject"])
    bootstrap = packaging.BOOTSTRAP.read_text()
    assert 'key="${prefix%/}/webapp.tar.gz"' in bootstrap and 'key="${key#/}"' in bootstrap
    bundle = f"{prefix.rstrip('/')}/webapp.tar.gz".lstrip("/")
    return script, bundle


@pytest.mark.parametrize(
    "change",
    [{}, {"boot_object": "lab-boot.sh"}, {"boot_prefix": ""}, {"boot_prefix": "a/b/"}],
    ids=["builders-guide-empty-object", "named-object", "no-prefix", "nested-prefix"],
)
def test_install_uploads_what_the_instances_fetch(cloud: Any, change: dict[str, str]) -> None:
    bucket = unique_prefix("boot").lower()
    event = validate_event({**BUILDERS_GUIDE_EVENT, **change, "boot_bucket": bucket})
    s3 = cloud.client("s3", event["region_name"])
    ensure_bucket(s3, bucket, event["region_name"], event["workshop"])
    uploaded = upload_boot(s3, event)
    script, bundle = fetched_keys(event)
    assert uploaded == [script, bundle]
    body = s3.get_object(Bucket=bucket, Key=script)["Body"].read()
    assert body == packaging.BOOTSTRAP.read_bytes()
    assert s3.get_object(Bucket=bucket, Key=bundle)["Body"].read() == packaging.webapp_tarball()


def _manual_route() -> tuple[dict[str, str], set[str]]:
    """docs/install-aws.md: the event's boot keys and the S3 keys Path B copies into boot_bucket."""
    text = INSTALL_AWS.read_text()
    import json

    event = json.loads(re.search(r"## The event.*?```json\n(.*?)```", text, re.S).group(1))
    route = text[text.index("## Path B") :]
    route = route[: route.index("```", route.index("```bash") + 7)].replace("\\\n", " ")
    boot = f"s3://{event['boot_bucket']}/"
    keys = set()
    for line in route.splitlines():
        words = shlex.split(line, comments=True)
        if words[:3] == ["aws", "s3", "cp"] and words[-1].startswith(boot):
            source, target = words[3], words[-1].removeprefix(boot)
            keys.add(target + source.rsplit("/", 1)[-1] if target.endswith("/") else target)
    return event, keys


def test_the_manual_route_uploads_what_the_instances_fetch() -> None:
    event, copied = _manual_route()
    script, bundle = fetched_keys(validate_event(event))
    assert {script, bundle} <= copied, f"docs/install-aws.md Path B copies {sorted(copied)}"
