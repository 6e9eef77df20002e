"""The web instances run their real user data (issue 12) with their instance profile's role
(issue 11): a lab whose bootstrap object is gone when the instance boots, or whose installed
instance role has lost a grant (an administrator's change), deploys, but the Auto Scaling group
replaces the unhealthy instances (the new ones run the user data again and fail the same way),
``reslab deploy --local`` reports the web tier unhealthy with the instance's bootstrap log, exits
1 with a named error, and the teardown leaves nothing.

(The healthy path, the same user data serving the page, is every other local deploy's:
tests/deploy/test_cli.py, tests/localcloud/test_lab_stacks.py, tests/inject.)
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from reslab.event import validate_event
from reslab.localcloud import dbbacking
from reslab.localcloud.compat.cloudformation import stack_lifecycle
from reslab.localcloud.state import write_state
from reslab.localcloud.webtier import MAX_REPLACEMENTS, running_tier
from reslab_lambda.event import boot_keys
from tests.deploy.conftest import REGIONS
from tests.deploy.test_cli import last_line, run, write_event


@pytest.fixture
def workdir(tmp_path: Path, cloud: Any) -> Path:
    write_state(cloud.endpoint_url, tmp_path)  # the CLI reuses this session's local cloud
    return tmp_path


@contextmanager
def before_instances_boot(stack_name: str, change: Callable[[Any], None]) -> Iterator[None]:
    """Run ``change(stack)`` when ``stack_name`` has been created, before its instances boot
    (the hook runs ahead of the web tier's)."""

    def hook(stack: Any) -> None:
        if stack.name == stack_name:
            change(stack)

    stack_lifecycle.AFTER_CREATE.insert(0, hook)
    try:
        yield
    finally:
        stack_lifecycle.AFTER_CREATE.remove(hook)


def object_removed(bucket: str, key: str) -> Callable[[Any], None]:
    """The object the install uploaded is missing."""
    from moto.s3.models import s3_backends

    def remove(stack: Any) -> None:
        s3_backends[stack.account_id]["aws"].delete_object(bucket, key)

    return remove


def grant_removed(sid: str, removed_roles: list[str]) -> Callable[[Any], None]:
    """The statement ``sid`` removed from the installed instance role's ``reslab-web`` policy,
    as an administrator's ``iam put-role-policy`` would (the template is unchanged)."""
    from moto.iam.models import iam_backends

    def remove(stack: Any) -> None:
        role = stack.resource_map["InstanceRole"]
        backend = iam_backends[stack.account_id]["aws"]
        _, document = backend.get_role_policy(role.name, "reslab-web")
        policy = json.loads(document) if isinstance(document, str) else document
        kept = [s for s in policy["Statement"] if s.get("Sid") != sid]
        assert len(kept) == len(policy["Statement"]) - 1, policy
        backend.put_role_policy(role.name, "reslab-web", json.dumps({**policy, "Statement": kept}))
        removed_roles.append(role.name)

    return remove


def lab_event(
    workdir: Path, name: str, engine: str = "postgres", secondary: str | None = "us-west-2"
) -> tuple[Path, dict[str, Any]]:
    """The lab's event file (one region when ``secondary`` is None) and the event validated."""
    path = write_event(workdir, name, skip_backup_check=True, engine=engine)
    raw = json.loads(path.read_text())
    if secondary is None:
        raw.pop("secondary_region_name")
        path.write_text(json.dumps(raw))
    return path, validate_event(raw)


def deploy_and_destroy(
    workdir: Path,
    cloud: Any,
    path: Path,
    change: Callable[[Any], None],
    backing: str | None = None,
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]], set[str]]:
    """``reslab deploy --local`` of the lab of event ``path`` (its RDS instances backed by
    ``backing``; None: the session's own), changed by ``change`` before its instances boot, then
    ``reslab destroy --local``: the deploy's result, the web group's scaling activities and its
    instances when the deploy ended."""
    event = validate_event(json.loads(path.read_text()))
    prefix = event["stack_prefix"]
    name = prefix.lower()  # write_event's prefix is the name capitalized
    suffixes = ("VPC", "Storage", "Database", "Web")
    suffixes += ("Replica",) if event.get("secondary_region_name") else ()
    with switched(backing):
        with before_instances_boot(f"{prefix}Web", change):
            result = run(["deploy", "--local", "--event", str(path), "--name", name], workdir)
        assert {s["StackName"] for s in _stacks(cloud, prefix)} == {prefix + s for s in suffixes}
        autoscaling = cloud.client("autoscaling", "us-east-2")
        groups = autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]
        (group,) = [g for g in groups if f"{prefix}Web" in g["AutoScalingGroupName"]]
        activities = autoscaling.describe_scaling_activities(
            AutoScalingGroupName=group["AutoScalingGroupName"]
        )["Activities"]
        instances = {i["InstanceId"] for i in group["Instances"]}
        destroyed = run(["destroy", "--local", "--event", str(path), "--name", name], workdir)

    assert destroyed.returncode == 0, destroyed.stderr[-3000:]
    assert _stacks(cloud, prefix) == []
    web = autoscaling.describe_auto_scaling_groups()
    assert not [g for g in web["AutoScalingGroups"] if f"{prefix}Web" in g["AutoScalingGroupName"]]
    tier = running_tier()  # no booted instance (process, metadata service) left for the lab
    assert tier is None or not [a for a in tier.apps.values() if f"{prefix}Web" in a.stack_id]
    return result, activities, instances


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


def unhealthy_tail(result: subprocess.CompletedProcess[str]) -> str:
    """The deploy's bootstrap log tail, after checking it reported the web tier unhealthy."""
    assert result.returncode == 1, result.stderr[-3000:]
    summary = result.stdout  # the summary (stdout); the error line is stderr's last
    assert "web tier: UNHEALTHY (0/" in summary, summary
    line = last_line(result.stderr)
    assert line.startswith("WebTierUnhealthy: no healthy instance behind the load balancer")
    assert "Traceback" not in result.stderr + summary
    assert "next:" not in summary
    return summary[summary.index("bootstrap log of i-") :]


def assert_replaced_once(activities: list[dict[str, Any]], instances: set[str], tail: str) -> None:
    """Each first instance was replaced after failing its ELB health check (MAX_REPLACEMENTS is
    1), and the log shown is a replacement's: it ran the user data again."""
    assert MAX_REPLACEMENTS == 1
    terminated = [a for a in activities if a["Description"].startswith("Terminating EC2")]
    launched = [a for a in activities if a["Description"].startswith("Launching a new EC2")]
    assert len(terminated) == len(launched) == len(instances) > 0, activities
    assert all("ELB system health check failure" in a["Cause"] for a in terminated)
    assert all(a["StatusCode"] == "Successful" for a in activities)
    new_ids = {a["Description"].rsplit(" ", 1)[-1] for a in launched}
    assert new_ids == instances
    assert tail.split()[3] in new_ids  # "bootstrap log of i-..."


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
    path, event = lab_event(workdir, name, engine, secondary)
    script_key, _bundle = boot_keys(event)
    remove = object_removed(event["boot_bucket"], script_key)
    result, activities, instances = deploy_and_destroy(workdir, cloud, path, remove, backing)

    tail = unhealthy_tail(result)
    # the tail of the instance's own log: the user data's six failed fetches of the object
    assert f'(404) when calling the HeadObject operation: Key "{script_key}" does not exist' in tail
    assert "instance unhealthy: the user data exited with status 1" in tail
    assert_replaced_once(activities, instances, tail)


@pytest.mark.parametrize(
    ("sid", "denial"),
    [
        # bootstrap.sh reads the secret (webapp.schema): a traceback ending in the denial
        (
            "ReadDatabaseSecret",
            "(AccessDeniedException) when calling the GetSecretValue operation: User: ",
        ),
        # the user data's `aws s3 cp` of the bootstrap object: S3 answers a HEAD with no body
        ("ReadBootFiles", "(403) when calling the HeadObject operation: Forbidden"),
    ],
)
def test_a_grant_removed_from_the_instance_role_reports_an_unhealthy_web_tier(
    workdir: Path, cloud: Any, sid: str, denial: str
) -> None:
    roles: list[str] = []
    name = f"cligrant{sid[4:8].lower()}"
    path, _event = lab_event(workdir, name)
    result, activities, instances = deploy_and_destroy(
        workdir, cloud, path, grant_removed(sid, roles)
    )

    tail = unhealthy_tail(result)
    assert denial in tail
    if sid == "ReadDatabaseSecret":  # the denial names the instance's own session
        assert f":assumed-role/{roles[0]}/i-" in tail
        assert "is not authorized to perform: secretsmanager:GetSecretValue" in tail
    assert "instance unhealthy: the user data exited with status 1" in tail
    assert_replaced_once(activities, instances, tail)
