"""20 labs (+1 broken) deployed at once in one local cloud, through assumed roles.

The stacks are the deploy tests' stub templates (replaced right after each install) so that 21
labs fit in the test budget; the machinery (IAM roles, four Lambdas in child processes, both
state machines, Wait/backoff loops) is the real one. The broken target's Database stack rolls
back (local cloud fault hook); the others finish; a rerun retries only it.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reslab.cli.app import app
from reslab.event import LOCAL_DEFAULTS
from reslab.fleet import lab
from reslab.fleet.runner import RUNNING, SKIPPED, FleetRun, TargetRun, run_fleet
from reslab.fleet.state import FAILED, SUCCEEDED, FleetState, state_path
from reslab.fleet.targets import Target, load_targets
from reslab.localcloud.state import write_state
from reslab.localcloud.testing import TRAINER_ROLE, trainer_role
from tests.deploy.stubs import output_value, upload_stubs

GOOD = 20
CONCURRENCY = 10
REGIONS = (("us-east-2", "us-west-2"), ("us-west-2", "us-east-2"), ("us-east-2", ""))
ROLE = f"arn:aws:iam::123456789012:role/{TRAINER_ROLE}"


def stubs(clients: Any, event: dict[str, Any]) -> None:
    upload_stubs(clients, event)


def write_targets(path: Path, tag: str, count: int, broken: bool) -> Path:
    rows = ["role_arn,region,secondary_region,workshop,stack_prefix"]
    for i in range(count):
        primary, secondary = REGIONS[i % len(REGIONS)]
        rows.append(f"{ROLE},{primary},{secondary},fleet {tag} {i},F{tag}n{i}")
    if broken:
        rows.append(f"{ROLE},us-east-2,us-west-2,fleet {tag} broken,F{tag}broken")
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def fleet(cloud: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Deploy (one target broken), then rerun with the fault gone; keep both results."""
    tag = uuid.uuid4().hex[:5]
    # every row's role: installs are named reslab-f<tag>..., lab stacks F<tag>...
    assert trainer_role(cloud, f"{lab.Settings().base_name}-f{tag}", f"F{tag}") == ROLE
    workdir = tmp_path_factory.mktemp("fleet")
    csv = write_targets(workdir / "class.csv", tag, GOOD, broken=True)
    targets = load_targets(csv)
    state = FleetState(state_path(csv, workdir))
    # stub stacks have no database to restore: the nested backup check is skipped
    base_event = {**LOCAL_DEFAULTS, "skip_backup_check": True}
    settings = lab.Settings(local=True, base_event=base_event, after_install=stubs)
    running: list[int] = []

    def watch(runs: list[TargetRun]) -> None:
        running.append(sum(1 for r in runs if r.status == RUNNING))

    with cloud.failing_stacks(f"F{tag}broken*Database", "Injected: DB instance quota exceeded"):
        first = run_fleet(
            FleetRun("deploy", settings, CONCURRENCY, cloud.endpoint_url),
            targets,
            state,
            on_change=watch,
        )
    second = run_fleet(
        FleetRun("deploy", settings, CONCURRENCY, cloud.endpoint_url),
        targets,
        FleetState(state.path),
    )
    return {
        "tag": tag,
        "workdir": workdir,
        "csv": csv,
        "targets": targets,
        "state": state.path,
        "first": first,
        "second": second,
        "running": running,
    }


def _stack_statuses(cloud: Any, target: Target) -> list[str]:
    def clients(service: str, region: str) -> Any:
        return cloud.client(service, region)  # same (moto default) account as the assumed role

    event = lab.event_for(target, lab.Settings(local=True), "123456789012")
    return list(lab.stack_statuses(clients, event).values())


def test_every_good_target_deploys_and_the_broken_one_fails_alone(
    fleet: dict[str, Any], cloud: Any
) -> None:
    first: list[TargetRun] = fleet["first"]
    by_status = {s: [r for r in first if r.status == s] for s in (SUCCEEDED, FAILED)}
    assert len(by_status[SUCCEEDED]) == GOOD, [(r.target.label, r.message) for r in first]
    [broken] = by_status[FAILED]
    assert broken.target.stack_prefix.endswith("broken")
    assert broken.error == "StackFailed"
    assert "Injected: DB instance quota exceeded" in broken.message
    for run in by_status[SUCCEEDED]:
        statuses = _stack_statuses(cloud, run.target)
        assert set(statuses) == {"CREATE_COMPLETE"}
        assert len(statuses) == (5 if run.target.secondary_region else 4)
        assert run.execution.startswith("arn:aws:states:")
    assert 1 <= max(fleet["running"]) <= CONCURRENCY  # bounded concurrency


def test_rerun_retries_only_the_failed_target(fleet: dict[str, Any], cloud: Any) -> None:
    second: list[TargetRun] = fleet["second"]
    ran = [r for r in second if r.status != SKIPPED]
    assert [r.target.stack_prefix for r in ran] == [f"F{fleet['tag']}broken"]
    assert ran[0].status == SUCCEEDED, ran[0].message
    assert set(_stack_statuses(cloud, ran[0].target)) == {"CREATE_COMPLETE"}
    records = json.loads(fleet["state"].read_text())["targets"]
    assert len(records) == GOOD + 1
    assert {r["status"] for r in records.values()} == {SUCCEEDED}
    assert {r["action"] for r in records.values()} == {"deploy"}


def test_cli_status_then_destroy_part_of_the_class(
    fleet: dict[str, Any], cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    workdir: Path = fleet["workdir"]
    write_state(cloud.endpoint_url, workdir)  # the CLI finds this session's cloud
    monkeypatch.chdir(workdir)
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    runner = CliRunner()
    status = runner.invoke(app, ["fleet", "status", "--targets", str(fleet["csv"]), "--local"])
    assert status.exit_code == 0, status.output
    assert f"{GOOD + 1} target(s): {GOOD + 1} up" in status.output
    as_json = ["fleet", "status", "--targets", str(fleet["csv"]), "--local", "--json"]
    rows = json.loads(runner.invoke(app, as_json).stdout)
    assert [r["row"] for r in rows] == list(range(1, GOOD + 2))
    assert {r["website"] for r in rows} == {output_value("web", "WebsiteURL")}  # stub's output
    assert {r["backups"] for r in rows} == {"never checked"}  # skip_backup_check

    part = write_targets(workdir / "part.csv", fleet["tag"], 2, broken=False)
    args = ["fleet", "destroy", "--targets", str(part), "--local", "--concurrency", "2"]
    first, second = load_targets(part)
    only = runner.invoke(app, [*args, "--only", "2"])  # one participant, rows keep their numbers
    assert only.exit_code == 0, only.output
    assert "not in --only" in only.output
    assert set(_stack_statuses(cloud, second)) == {"-"}
    assert set(_stack_statuses(cloud, first)) == {"CREATE_COMPLETE"}
    unknown = runner.invoke(app, [*args, "--only", "7"])
    assert unknown.exit_code == 1 and "--only 7: no such row (rows: 1, 2)" in str(unknown.exception)

    destroyed = runner.invoke(app, args)
    assert destroyed.exit_code == 0, destroyed.output
    for target in (first, second):
        assert set(_stack_statuses(cloud, target)) == {"-"}
    records = json.loads((workdir / ".reslab/fleet/part.json").read_text())["targets"]
    assert {(r["action"], r["status"]) for r in records.values()} == {("destroy", SUCCEEDED)}
    again = runner.invoke(app, args)  # nothing left to do: both skipped
    assert again.exit_code == 0 and again.output.count("skipped") >= 2


def test_cli_refuses_a_bad_targets_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("role_arn,region,secondary_region,workshop\nnope,us-east-2,,w\n")
    result = CliRunner().invoke(app, ["fleet", "deploy", "--targets", str(bad), "--local"])
    assert result.exit_code != 0
    assert type(result.exception).__name__ == "InvalidTargets"
    assert "row 1: role_arn: 'nope' is not an IAM role ARN" in str(result.exception)
