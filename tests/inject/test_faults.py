"""Each injection changes exactly the intended resources; recover restores the prior state;
look-alikes are never touched; --dry-run changes nothing; refusals are named errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reslab.chaos.actions import DENY_SID
from reslab.chaos.errors import AlreadyInjected, NotLabResource
from reslab.chaos.faults import Options
from reslab.chaos.journal import BucketMirror, Journal
from reslab.chaos.runner import inject, recover
from reslab.cli.app import app
from tests.inject.conftest import AZS, IMAGE_KEY, REGION, WEBSITE_POLICY, WORKSHOP, World


def quiet(_text: str) -> None:
    pass


def cli(world: World, tmp_path: Path, *args: str) -> Any:
    """``reslab <args>`` in-process against the moto endpoint, journal under tmp_path."""
    base = ["--endpoint-url", world.endpoint, "--region", REGION, "--workshop", WORKSHOP]
    base += ["--journal-dir", str(tmp_path / "journal")]
    return CliRunner().invoke(app, [*args, *base])


def changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Per section, the keys whose value differs (added, removed or changed)."""
    out = {}
    for section in before:
        keys = set(before[section]) | set(after[section])
        diff = {k for k in keys if before[section].get(k) != after[section].get(k)}
        if diff:
            out[section] = diff
    return out


def recover_all(world: World, journal: Journal) -> list[Any]:
    return recover(journal, lambda _entry: world.lab, say=quiet)


# --- dry run ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "expect"),
    [
        (["instance", "--count", "2"], "ec2.TerminateInstances"),
        (["az", "--az", AZS[1]], "ec2.ReplaceNetworkAclAssociation"),
        (
            ["rds", "--replica"],
            "rds.RebootDBInstance(DBInstanceIdentifier=lab-db, ForceFailover=true)",
        ),
        (["s3"], "s3.PutBucketPolicy(Bucket=lab-website"),
    ],
)
def test_dry_run_prints_the_plan_and_changes_nothing(
    world: World, tmp_path: Path, fault: list[str], expect: str
) -> None:
    before = world.snapshot()
    result = cli(world, tmp_path, "inject", *fault, "--dry-run")
    assert result.exit_code == 0, result.output
    assert expect in result.output
    assert "dry run: nothing changed" in result.output
    assert world.snapshot() == before
    assert not (tmp_path / "journal").exists()


# --- instance ---------------------------------------------------------------------------------


def test_instance_terminates_only_lab_instances(world: World, journal: Journal) -> None:
    before = world.snapshot()
    lab_instances = set(before["asgs"][world.asg])
    outcome = inject(world.lab, "instance", Options(count=2), journal, duration=None, say=quiet)
    after = world.snapshot()
    killed = {i for i, state in after["instances"].items() if state == "terminated"}
    assert killed == set(outcome.plan.undo["instances"])
    assert len(killed) == 2 and killed <= lab_instances
    # the look-alike group and every non-instance resource are untouched
    assert after["asgs"][world.lookalike_asg] == before["asgs"][world.lookalike_asg]
    for section in ("acls", "subnet_acl", "dbs", "policies"):
        assert after[section] == before[section]
    # moto's ASG replaces them, like AWS: only lab instances came and went
    assert changed(before, after).keys() <= {"instances", "asgs"}
    assert outcome.entry is not None and outcome.entry.status == "done"


def test_instance_refuses_an_untagged_group(world: World, journal: Journal) -> None:
    before = world.snapshot()
    with pytest.raises(NotLabResource, match="lookalike-asg.*no workshop tag"):
        inject(world.lab, "instance", Options(asg=world.lookalike_asg), journal, duration=None)
    assert world.snapshot() == before
    assert journal.entries() == []


# --- region -----------------------------------------------------------------------------------


def test_region_loss_isolates_every_lab_subnet_and_recover_restores(
    world: World, journal: Journal
) -> None:
    before = world.snapshot()
    outcome = inject(world.lab, "region", Options(), journal, duration=0, say=quiet)
    during = world.snapshot()
    acl_id = outcome.entry.saved["acl0"]  # type: ignore[union-attr]
    lab_subnets = {s for subnets in world.subnets.values() for s in subnets}
    # every lab subnet, in every AZ, moved to the one deny-all ACL; the look-alikes did not
    assert changed(before, during) == {"acls": {acl_id}, "subnet_acl": lab_subnets}
    assert {during["subnet_acl"][s] for s in lab_subnets} == {acl_id}
    assert journal.active(fault="region")[0].status == "injected"
    assert len(recover_all(world, journal)) == 1
    assert world.snapshot() == before


# --- az ---------------------------------------------------------------------------------------


def test_az_isolation_changes_only_that_az_and_recover_restores(
    world: World, journal: Journal
) -> None:
    az = AZS[1]
    before = world.snapshot()
    outcome = inject(world.lab, "az", Options(az=az), journal, duration=0, say=quiet)
    during = world.snapshot()
    acl_id = outcome.entry.saved["acl0"]  # type: ignore[union-attr]
    # exactly the lab subnets of that AZ moved to one new ACL; nothing else changed
    assert changed(before, during) == {"acls": {acl_id}, "subnet_acl": set(world.subnets[az])}
    assert {during["subnet_acl"][s] for s in world.subnets[az]} == {acl_id}
    entries = [json.loads(e) for e in during["acls"][acl_id]["entries"]]
    denies = [e for e in entries if e["RuleAction"] == "deny" and e["RuleNumber"] == 1]
    assert {e["Egress"] for e in denies} == {True, False}
    assert all(e["Protocol"] == "-1" and e["CidrBlock"] == "0.0.0.0/0" for e in denies)
    tags = dict(during["acls"][acl_id]["tags"])
    assert tags["workshop"] == WORKSHOP and tags["reslab:owner"] == outcome.entry.id  # type: ignore[union-attr]
    # the look-alike VPC's subnet in the same AZ is untouched
    assert (
        during["subnet_acl"][world.lookalike_subnets[az]]
        == (before["subnet_acl"][world.lookalike_subnets[az]])
    )
    assert journal.active(fault="az")[0].status == "injected"

    assert len(recover_all(world, journal)) == 1
    assert world.snapshot() == before
    assert journal.active() == []
    # twice is harmless
    assert recover_all(world, journal) == []
    assert world.snapshot() == before


def test_az_reverts_by_itself_after_the_duration(world: World, journal: Journal) -> None:
    before = world.snapshot()
    outcome = inject(world.lab, "az", Options(az=AZS[0]), journal, duration=0.2, say=quiet)
    assert world.snapshot() == before
    assert outcome.entry is not None and outcome.entry.status == "reverted"
    assert any("DeleteNetworkAcl" in c for c in outcome.reverted_calls)


def test_az_refuses_a_second_injection_while_one_is_in_force(
    world: World, journal: Journal
) -> None:
    inject(world.lab, "az", Options(az=AZS[0]), journal, duration=0, say=quiet)
    with pytest.raises(AlreadyInjected, match="reslab recover az"):
        inject(world.lab, "az", Options(az=AZS[2]), journal, duration=0, say=quiet)
    recover_all(world, journal)


def test_az_recovers_a_crash_before_the_acl_id_was_journalled(
    world: World, journal: Journal
) -> None:
    """Crash right after CreateNetworkAcl: the ACL is found by its reslab:owner tag."""
    from reslab.chaos.faults import FAULTS
    from reslab.chaos.journal import Entry
    from reslab.chaos.plan import run_calls

    before = world.snapshot()
    entry_id = journal.new_id("az")
    plan = FAULTS["az"].plan(world.lab, Options(az=AZS[2]), entry_id)
    entry = Entry(entry_id, "az", REGION, WORKSHOP, "Resiliency", world.endpoint, undo=plan.undo)
    journal.save(entry)
    run_calls(world.lab, plan.calls[:2], {})  # ACL + one entry created, nothing journalled
    assert world.snapshot() != before
    recover_all(world, journal)
    assert world.snapshot() == before


# --- rds --------------------------------------------------------------------------------------


def test_rds_fails_over_the_lab_database_only(
    world: World, journal: Journal, tmp_path: Path
) -> None:
    before = world.snapshot()
    result = cli(world, tmp_path, "inject", "rds", "--replica", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["calls"] == [
        {
            "service": "rds",
            "operation": "RebootDBInstance",
            "params": {"DBInstanceIdentifier": world.db, "ForceFailover": True},
            "save": None,
            "region": None,
        }
    ]
    assert report["before"]["replica_lag_s"] == "n/a"  # moto publishes no ReplicaLag
    assert report["after"]["status"] == "available"
    assert world.snapshot() == before  # a failover changes no described state in moto
    assert report["entry"]["status"] == "done"


def test_rds_refuses_the_untagged_lookalike(world: World, tmp_path: Path) -> None:
    result = cli(world, tmp_path, "inject", "rds", "--db", world.lookalike_db)
    assert isinstance(result.exception, NotLabResource)
    assert "lookalike-db" in str(result.exception)


# --- s3 ---------------------------------------------------------------------------------------


def image_readable(world: World) -> bool:
    s3 = world.client("s3")
    try:
        s3.get_object(Bucket=world.bucket, Key=IMAGE_KEY)["Body"].read()
    except s3.exceptions.ClientError as exc:
        assert exc.response["Error"]["Code"] in ("AccessDenied", "403")
        return False
    return True


def test_s3_denies_image_reads_and_restores_the_policy_exactly(
    world: World, journal: Journal
) -> None:
    before = world.snapshot()
    assert image_readable(world)
    inject(world.lab, "s3", Options(key=IMAGE_KEY), journal, duration=0, say=quiet)
    during = world.snapshot()
    assert changed(before, during) == {"policies": {world.bucket}}
    policy = json.loads(during["policies"][world.bucket])
    assert [s["Sid"] for s in policy["Statement"]] == ["ExistingListForAuditors", DENY_SID]
    assert policy["Statement"][1]["Resource"] == f"arn:aws:s3:::{world.bucket}/{IMAGE_KEY}"
    assert not image_readable(world)

    recover_all(world, journal)
    after = world.snapshot()
    assert after == before
    assert after["policies"][world.bucket] == WEBSITE_POLICY  # byte for byte
    assert image_readable(world)
    assert recover_all(world, journal) == []


def test_s3_on_a_bucket_without_policy_deletes_it_again(world: World, journal: Journal) -> None:
    before = world.snapshot()
    assert before["policies"][world.report_bucket] is None
    inject(world.lab, "s3", Options(bucket=world.report_bucket), journal, duration=0.1, say=quiet)
    assert world.snapshot() == before


def test_s3_revert_keeps_statements_added_by_someone_else(world: World, journal: Journal) -> None:
    inject(world.lab, "s3", Options(), journal, duration=0, say=quiet)
    s3 = world.client("s3")
    policy = json.loads(s3.get_bucket_policy(Bucket=world.bucket)["Policy"])
    policy["Statement"].append(
        {"Sid": "AddedMeanwhile", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{world.bucket}/public/*"}
    )  # fmt: skip
    s3.put_bucket_policy(Bucket=world.bucket, Policy=json.dumps(policy))
    recover_all(world, journal)
    sids = [s["Sid"] for s in json.loads(s3.get_bucket_policy(Bucket=world.bucket)["Policy"])[
        "Statement"]]  # fmt: skip
    assert sids == ["ExistingListForAuditors", "AddedMeanwhile"]


@pytest.mark.parametrize("bucket", ["lookalike-website", "other-lab-website"])
def test_s3_refuses_buckets_of_no_or_another_lab(world: World, tmp_path: Path, bucket: str) -> None:
    before = world.snapshot()
    result = cli(world, tmp_path, "inject", "s3", "--bucket", bucket, "--duration", "0")
    assert isinstance(result.exception, NotLabResource), result.output
    assert bucket in str(result.exception)
    assert world.snapshot() == before


# --- recover from the CLI, journal mirror -----------------------------------------------------


def test_cli_recover_all_then_again(world: World, tmp_path: Path) -> None:
    before = world.snapshot()
    for args in (["az", "--az", AZS[0]], ["s3"]):
        result = cli(world, tmp_path, "inject", *args, "--duration", "0")
        assert result.exit_code == 0, result.output
    assert world.snapshot() != before
    dry = cli(world, tmp_path, "recover", "all", "--dry-run")
    assert "would revert" in dry.output and "DeleteNetworkAcl" in dry.output
    assert world.snapshot() != before
    first = cli(world, tmp_path, "recover", "all")
    assert first.exit_code == 0, first.output
    assert first.output.count("reverted") == 2
    assert world.snapshot() == before
    second = cli(world, tmp_path, "recover")
    assert second.exit_code == 0 and "nothing to recover" in second.output
    assert world.snapshot() == before


def test_journal_mirror_in_the_report_bucket_allows_recovery_elsewhere(
    world: World, tmp_path: Path
) -> None:
    mirror = BucketMirror(world.client("s3"), world.report_bucket)
    here = Journal(tmp_path / "here", mirror)
    before = world.snapshot()
    inject(world.lab, "s3", Options(), here, duration=0, say=quiet)
    elsewhere = Journal(tmp_path / "elsewhere", mirror)  # another laptop: empty local journal
    assert [e.status for e in elsewhere.active()] == ["injected"]
    recover(elsewhere, lambda _e: world.lab, say=quiet)
    snapshot = world.snapshot()
    assert snapshot["policies"][world.bucket] == before["policies"][world.bucket]
    assert elsewhere.active() == []


def test_a_failure_part_way_through_reverts_what_was_done(
    world: World, journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from botocore.exceptions import ClientError

    from reslab.chaos import faults
    from reslab.chaos.plan import Call

    def plan_then_fail(lab: Any, opts: Options, entry_id: str) -> Any:
        plan = faults.plan_az(lab, opts, entry_id)
        plan.calls.append(Call("ec2", "DescribeSubnets", {"SubnetIds": ["subnet-00000000"]}))
        return plan

    monkeypatch.setitem(faults.FAULTS, "az", replace(faults.FAULTS["az"], plan=plan_then_fail))
    before = world.snapshot()
    with pytest.raises(ClientError):
        inject(world.lab, "az", Options(az=AZS[1]), journal, duration=0, say=quiet)
    assert world.snapshot() == before
    assert [e.status for e in journal.entries()] == ["reverted"]
