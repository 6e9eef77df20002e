"""The fleet CSV: columns, per-row checks (same rules as the event), keys, session names."""

from __future__ import annotations

from pathlib import Path

import pytest

from reslab.fleet.errors import InvalidTargets
from reslab.fleet.lab import Settings, event_for, install_name
from reslab.fleet.state import SUCCEEDED, FleetState, Record, state_path
from reslab.fleet.targets import load_targets, parse_targets

ROLE = "arn:aws:iam::111122223333:role/ReslabTrainer"
GOOD = f"""# class of Monday
role_arn,profile,region,secondary_region,workshop,stack_prefix
{ROLE},,us-east-2,us-west-2,team 1,Team1
,alice,eu-west-1,,team 2,
"""


def test_rows_parse_with_comments_and_optional_columns() -> None:
    first, second = parse_targets(GOOD)
    assert (first.row, first.account, first.region, first.secondary_region) == (
        1,
        "111122223333",
        "us-east-2",
        "us-west-2",
    )
    assert first.session_name() == "reslab-fleet-1-Team1"
    assert (second.profile, second.secondary_region, second.stack_prefix) == ("alice", "", "")
    assert first.key != second.key


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("region,workshop\nus-east-2,a", "missing column(s): secondary_region"),
        ("role_arn,region,secondary_region,workshop,colour\n", "unknown column(s): colour"),
        ("role_arn,region,secondary_region,workshop\n", "no target rows"),
        (
            f"role_arn,profile,region,secondary_region,workshop\n{ROLE},bob,us-east-2,,w",
            "row 1: exactly one of role_arn or profile",
        ),
        (
            "role_arn,region,secondary_region,workshop\narn:aws:iam::1:user/x,us-east-2,,w",
            "row 1: role_arn: 'arn:aws:iam::1:user/x' is not an IAM role ARN",
        ),
        (
            f"role_arn,region,secondary_region,workshop\n{ROLE},us-east-9,,w",
            "row 1: region: 'us-east-9' is not an AWS region",
        ),
        (
            f"role_arn,region,secondary_region,workshop\n{ROLE},us-east-2,us-east-2,w",
            "row 1: secondary_region: 'us-east-2' must differ from region_name",
        ),
        (
            f"role_arn,region,secondary_region,workshop\n{ROLE},us-east-2,,lab #1",
            "row 1: workshop: 'lab #1' has characters AWS tags refuse",
        ),
        (
            f"role_arn,region,secondary_region,workshop\n{ROLE},us-east-2,,a\n{ROLE},us-east-2,,a",
            "row 2: same lab as row 1",
        ),
    ],
)
def test_bad_files_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(InvalidTargets) as caught:
        parse_targets(text, "t.csv")
    assert message in str(caught.value)
    assert str(caught.value).startswith("t.csv: ")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidTargets, match="cannot read"):
        load_targets(tmp_path / "absent.csv")


def test_event_per_target_aws_and_local() -> None:
    first, second = parse_targets(GOOD)
    aws = event_for(first, Settings(), "111122223333")
    assert aws["region_name"] == aws["cfn_region"] == "us-east-2"
    assert aws["secondary_region_name"] == "us-west-2"
    assert aws["stack_prefix"] == "Team1" and aws["workshop"] == "team 1"
    assert aws["cfn_bucket"] == "reslab-team1-111122223333-us-east-2-cfn"
    assert "poll_seconds" not in aws  # AWS default (30 s)
    local = event_for(second, Settings(local=True, base_name="lab"), "123456789012")
    assert "secondary_region_name" not in local and local["poll_seconds"] == 1
    assert install_name(second, "lab") == "lab" and install_name(first, "lab") == "lab-team1"
    assert len(event_for(first, Settings(base_name="x" * 60), "1" * 12)["boot_bucket"]) <= 63


def test_state_file_skips_only_succeeded_same_action(tmp_path: Path) -> None:
    first, second = parse_targets(GOOD)
    path = state_path(Path("class.csv"), tmp_path)
    assert path == tmp_path / ".reslab/fleet/class.json"
    state = FleetState(path)
    state.set(first, Record(1, first.label, "deploy", SUCCEEDED))
    state.set(second, Record(2, second.label, "deploy", "failed", "StackFailed", "x"))
    again = FleetState(path)  # read back from disk
    assert again.pending([first, second], "deploy", everything=False) == [second]
    assert again.pending([first, second], "destroy", everything=False) == [first, second]
    assert again.pending([first, second], "deploy", everything=True) == [first, second]


def test_local_cloud_refuses_roles_of_other_accounts() -> None:
    from reslab.fleet.credentials import target_clients
    from reslab.fleet.errors import TargetCredentials

    [target] = parse_targets(f"role_arn,region,secondary_region,workshop\n{ROLE},us-east-2,,w")
    with pytest.raises(TargetCredentials, match="must be in account 123456789012"):
        target_clients(target, "http://127.0.0.1:9")


def test_sweep_deletes_dependent_stacks_first() -> None:
    from reslab.sweep import KINDS, Found, _stack_rank

    names = ["LabVPC", "LabWeb", "Other", "LabDatabase", "LabStorage", "LabReplica"]
    installer = Found("stack", "us-east-2", "lab", detail="CREATE_COMPLETE, installer")
    found = sorted([installer, *(Found("stack", "us-east-2", n) for n in names)], key=_stack_rank)
    order = [f.id for f in found]
    assert order[0] == "Other"  # unknown stacks first: nothing of the lab depends on them
    assert order[-1] == "lab"  # the installer last: its role deletes the lab's stacks
    assert max(order.index("LabWeb"), order.index("LabReplica")) < order.index("LabDatabase")
    assert order.index("LabDatabase") < min(order.index("LabVPC"), order.index("LabStorage"))
    kinds = [k.name for k in KINDS]
    assert kinds.index("network-acl") < kinds.index("stack") < kinds.index("rds-snapshot")
    assert kinds.index("nat-gateway") < kinds.index("elastic-ip")
    assert kinds.index("log-group") < kinds.index("iam-role")
