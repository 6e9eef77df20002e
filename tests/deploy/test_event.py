"""The event validator (pure) that the validate Lambda and the CLI both run."""

from __future__ import annotations

import boto3
import pytest

from reslab import errors
from reslab.event import EVENT_KEYS, event_problems, load_event, local_event, validate_event
from reslab_lambda.regions import AWS_REGIONS
from tests.deploy.cases import MALFORMED, malformed
from tests.templates.contract import SAMPLE_EVENT as BUILDERS_GUIDE_EVENT


def test_the_builders_guide_event_is_accepted_as_is() -> None:
    event = validate_event(BUILDERS_GUIDE_EVENT)
    # boot_object "" means the default object (the bootstrap `reslab install` uploads)
    assert {k: event[k] for k in BUILDERS_GUIDE_EVENT} == {
        **BUILDERS_GUIDE_EVENT,
        "boot_object": "bootstrap.sh",
    }
    assert event["stack_prefix"] == "Resiliency"
    assert (event["poll_seconds"], event["poll_max_seconds"]) == (30, 120)


def test_secondary_region_is_optional() -> None:
    event = {k: v for k, v in BUILDERS_GUIDE_EVENT.items() if k != "secondary_region_name"}
    assert "secondary_region_name" not in validate_event(event)


def test_tag_values_aws_accepts_pass() -> None:
    ok = "Lab_1. 2:3/4=5+6-7@8 Zürich 東京"
    assert validate_event({**BUILDERS_GUIDE_EVENT, "workshop": ok})["workshop"] == ok
    long = "w" * 256
    assert validate_event({**BUILDERS_GUIDE_EVENT, "workshop": long})["workshop"] == long


@pytest.mark.parametrize(("case", "change", "key"), MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_event_names_the_key(case: str, change: dict, key: str) -> None:
    with pytest.raises(errors.InvalidEvent) as info:
        validate_event(malformed(BUILDERS_GUIDE_EVENT, change))
    assert str(info.value).startswith(f"{key}: ")


def test_every_problem_is_reported() -> None:
    problems = event_problems({"log_level": "DEBUG", "regoin_name": "x"})
    keys = {p.split(":")[0] for p in problems}
    assert "regoin_name" in keys and "region_name" in keys and "workshop" in keys
    assert event_problems([1, 2]) == ["event: must be a JSON object, not list"]


def test_region_table_covers_botocore_partitions() -> None:
    session = boto3.Session()
    known = set()
    for partition in ("aws", "aws-cn", "aws-us-gov"):
        known |= set(session.get_available_regions("ec2", partition_name=partition))
    assert known <= AWS_REGIONS


def test_local_event_is_valid_and_names_its_buckets() -> None:
    event = validate_event(local_event("lab7"))
    assert (event["cfn_bucket"], event["boot_bucket"]) == ("lab7-cfn", "lab7-boot")
    assert (event["region_name"], event["secondary_region_name"]) == ("us-east-2", "us-west-2")
    assert event["poll_seconds"] == 1


def test_event_file_that_is_not_json(tmp_path) -> None:
    path = tmp_path / "event.json"
    path.write_text("{nope")
    with pytest.raises(errors.InvalidEvent, match="is not JSON"):
        load_event(path)


def test_documented_keys_are_in_the_table() -> None:
    names = [k.name for k in EVENT_KEYS]
    assert names[:11] == list(BUILDERS_GUIDE_EVENT)


def test_dms_is_opt_in_and_needs_mysql_and_a_secondary_region() -> None:
    from reslab_lambda.stacks import spec_for

    event = local_event("dmsev", {"engine": "mysql"})
    assert validate_event(event)["dms"] is False
    assert spec_for("dms").region(validate_event(event)) is None  # skipped unless asked for
    on = validate_event({**event, "dms": True})
    assert spec_for("dms").region(on) == on["secondary_region_name"]
    assert spec_for("secondary_vpc").region(on) == on["secondary_region_name"]
    with pytest.raises(errors.InvalidEvent, match=r"^dms: needs engine mysql, not postgres"):
        validate_event({**event, "engine": "postgres", "dms": True})
    with pytest.raises(errors.InvalidEvent, match="^dms: needs engine mysql, not postgres"):
        validate_event({k: v for k, v in event.items() if k != "engine"} | {"dms": True})
    no_secondary = {k: v for k, v in event.items() if k != "secondary_region_name"}
    with pytest.raises(errors.InvalidEvent, match="^dms: needs secondary_region_name"):
        validate_event({**no_secondary, "dms": True})


def test_an_install_refuses_dms_for_a_region_it_has_no_preparation_code_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Lambda reads code only from its own region: a ``dms: true`` event needs an install made
    with that secondary region (``reslab install`` uploads the code there), else InvalidEvent
    before anything is created. Outside an install (no installed prefix) nothing is checked."""
    from reslab_lambda.errors import InvalidEvent
    from reslab_lambda.event import DMS_CODE_REGION_ENV, INSTALLED_PREFIX_ENV, check_installed_dms

    event = validate_event(
        local_event("dmscode", {"engine": "mysql", "dms": True, "stack_prefix": "Dmscode"})
    )
    check_installed_dms(event)  # not under an install
    monkeypatch.setenv(INSTALLED_PREFIX_ENV, "Dmscode")
    monkeypatch.setenv(DMS_CODE_REGION_ENV, "")
    with pytest.raises(InvalidEvent, match=r"^dms: .* in us-west-2 \(it has none\)"):
        check_installed_dms(event)
    monkeypatch.setenv(DMS_CODE_REGION_ENV, "eu-west-1")
    with pytest.raises(InvalidEvent, match=r"\(it has it in eu-west-1\): install again"):
        check_installed_dms(event)
    monkeypatch.setenv(DMS_CODE_REGION_ENV, event["secondary_region_name"])
    check_installed_dms(event)
    check_installed_dms({**event, "dms": False, "secondary_region_name": "eu-west-1"})


def test_the_dms_code_bucket_is_the_labs_per_account_and_region_and_fits_s3() -> None:
    from reslab.installer.stack_code import code_bucket_name

    name = code_bucket_name("Resiliency", "123456789012", "us-west-2")
    assert name.startswith("resiliency-") and name.endswith("-us-west-2")
    assert name != code_bucket_name("Resiliency", "210987654321", "us-west-2")
    assert len(code_bucket_name("a" * 40, "123456789012", "ap-southeast-4")) == 63
    with pytest.raises(errors.InvalidEvent, match="^stack_prefix: .* too long"):
        code_bucket_name("a" * 41, "123456789012", "ap-southeast-4")


def test_a_five_megabyte_value_is_a_short_named_error() -> None:
    with pytest.raises(errors.InvalidEvent) as info:
        validate_event({**BUILDERS_GUIDE_EVENT, "boot_object": "b" * 5_000_000})
    message = str(info.value)
    assert message == "boot_object: is 5000000 characters long; at most 255 allowed"


def test_a_huge_unknown_key_or_value_stays_out_of_the_message() -> None:
    with pytest.raises(errors.InvalidEvent) as info:
        validate_event({**BUILDERS_GUIDE_EVENT, "region_name": "x" * 100_000, "k" * 100_000: 1})
    assert len(str(info.value)) < 400


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("regin_name", "region_name"),
        ("boot_objet", "boot_object"),
        ("websiteImage", "websiteimage"),
    ],
)
def test_a_mistyped_key_names_the_key_it_resembles(typo: str, meant: str) -> None:
    event = {k: v for k, v in BUILDERS_GUIDE_EVENT.items() if k != meant}
    problems = event_problems({**event, typo: BUILDERS_GUIDE_EVENT[meant]})
    assert f"{typo}: unknown key; did you mean {meant}?" in problems


def test_an_unlike_key_gets_no_guess() -> None:
    assert "colour: unknown key" in event_problems({**BUILDERS_GUIDE_EVENT, "colour": "red"})


def test_empty_boot_object_means_the_default_object() -> None:
    assert validate_event({**BUILDERS_GUIDE_EVENT, "boot_object": ""})["boot_object"] == (
        "bootstrap.sh"
    )
    named = validate_event({**BUILDERS_GUIDE_EVENT, "boot_object": "lab-boot.sh"})
    assert named["boot_object"] == "lab-boot.sh"
