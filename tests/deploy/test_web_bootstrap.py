"""The web instances run their real user data (issue 12): a lab whose bootstrap object is gone
when the instance boots deploys, but ``reslab deploy --local`` reports the web tier unhealthy
with the instance's bootstrap log, exits 1 with a named error, and the teardown leaves nothing.

(The healthy path, the same user data serving the page, is every other local deploy's:
tests/deploy/test_cli.py, tests/localcloud/test_lab_stacks.py, tests/inject.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from reslab.event import validate_event
from reslab.localcloud import dbbacking
from reslab.localcloud.compat.cloudformation import stack_lifecycle
from reslab.localcloud.state import write_state
from reslab.localcloud.webtier import running_tier
from reslab_lambda.event import boot_keys
from tests.deploy.conftest import REGIONS
from tests.deploy.test_cli import last_line, run, write_event


@pytest.fixture
def workdir(tmp_path: Path, cloud: Any) -> Path:
    write_state(cloud.endpoint_url, tmp_path)  # the CLI reuses this session's local cloud
    return tmp_path


@contextmanager
def boot_object_removed_before(stack_name: str, bucket: str, key: str) -> Iterator[None]:
    """Delete ``s3://bucket/key`` when ``stack_name`` has been created, before its instances
    boot (the hook runs ahead of the web tier's): the object the install uploaded is missing."""
    from moto.s3.models import s3_backends

    def remove(stack: Any) -> None:
        if stack.name == stack_name:
            s3_backends[stack.account_id]["aws"].delete_object(bucket, key)

    stack_lifecycle.AFTER_CREATE.insert(0, remove)
    try:
        yield
    finally:
        stack_lifecycle.AFTER_CREATE.remove(remove)


#: (name, engine, backing URL, secondary region): issue 12's engine x regions table, one cell per
#: engine and per region set (each is a whole deploy; the failure precedes anything either
#: changes, so the diagonal shows both engines and both region sets).
SHAPES = [
    ("cliboot", "postgres", None, "us-west-2"),
    ("clibootmy", "mysql", "mysql://root@127.0.0.1:3306/mysql", None),
]


@pytest.mark.parametrize(
    ("name", "engine", "backing", "secondary"),
    SHAPES,
    ids=["postgres-two-regions", "mysql-one-region"],
)
def test_missing_bootstrap_object_reports_an_unhealthy_web_tier(
    workdir: Path, cloud: Any, name: str, engine: str, backing: str | None, secondary: str | None
) -> None:
    path = write_event(workdir, name, skip_backup_check=True, engine=engine)
    raw = json.loads(path.read_text())
    if secondary is None:
        raw.pop("secondary_region_name")
        path.write_text(json.dumps(raw))
    event = validate_event(raw)
    script_key, _bundle = boot_keys(event)
    prefix = name.capitalize()
    with switched(backing):
        with boot_object_removed_before(f"{prefix}Web", event["boot_bucket"], script_key):
            result = run(["deploy", "--local", "--event", str(path), "--name", name], workdir)
        created = {s["StackName"] for s in _stacks(cloud, prefix)}
        destroyed = run(["destroy", "--local", "--event", str(path), "--name", name], workdir)

    suffixes = ("VPC", "Storage", "Database", "Web", *(["Replica"] if secondary else []))
    assert created == {f"{prefix}{suffix}" for suffix in suffixes}
    assert result.returncode == 1, result.stderr[-3000:]
    summary = result.stdout  # the summary (stdout); the error line is stderr's last
    assert "web tier: UNHEALTHY (0/" in summary, summary
    # the tail of the instance's own log: the user data's six failed fetches of the object
    tail = summary[summary.index("bootstrap log of i-") :]
    assert f'(404) when calling the HeadObject operation: Key "{script_key}" does not exist' in tail
    assert "instance unhealthy: the user data exited with status 1" in tail
    line = last_line(result.stderr)
    assert line.startswith("WebTierUnhealthy: no healthy instance behind the load balancer")
    assert "Traceback" not in result.stderr + summary
    assert "next:" not in summary

    assert destroyed.returncode == 0, destroyed.stderr[-3000:]
    assert _stacks(cloud, prefix) == []
    web = cloud.client("autoscaling", "us-east-2").describe_auto_scaling_groups()
    assert not [g for g in web["AutoScalingGroups"] if f"{prefix}Web" in g["AutoScalingGroupName"]]
    tier = running_tier()  # no booted instance (process, metadata service) left for the lab
    assert tier is None or not [a for a in tier.apps.values() if f"{prefix}Web" in a.stack_id]


def _stacks(cloud: Any, prefix: str) -> list[dict[str, Any]]:
    """The lab's stacks in either region (the name's next letter is the suffix's capital)."""
    return [
        s
        for region in REGIONS
        for s in cloud.client("cloudformation", region).describe_stacks()["Stacks"]
        if s["StackName"].startswith(prefix) and s["StackName"][len(prefix)].isupper()
    ]


@contextmanager
def switched(backing: str | None) -> Iterator[None]:
    """Instances created inside backed by ``backing`` (None: the session's own)."""
    if backing is None:
        yield
        return
    with dbbacking.switch_backing(backing):
        yield
