"""The deploy-side Lambda code as plain functions against moto (no state machine)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from reslab.event import local_event, validate_event
from reslab.packaging import template_manifest
from reslab_lambda import cfn
from reslab_lambda.errors import BucketNotEmptied, DependencyNotReady, StackFailed, TemplateTampered
from reslab_lambda.stacks import INSTALL_SETTINGS, spec_for
from tests.deploy.stubs import output_value, put_stub_templates

REGION = "us-east-2"


@pytest.fixture
def event() -> Iterator[dict[str, Any]]:
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")  # noqa: S105
    with mock_aws():
        ev = validate_event(local_event("unit", {"stack_prefix": "Unit"}))
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=ev["cfn_bucket"],
                         CreateBucketConfiguration={"LocationConstraint": REGION})  # fmt: skip
        put_stub_templates(s3, ev)
        yield ev
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def test_template_url_points_at_the_cfn_bucket_folder(event: dict[str, Any]) -> None:
    url = cfn.template_url(event, spec_for("database"))
    assert url == "https://unit-cfn.s3.us-east-2.amazonaws.com/cloudformation/database.yaml"


def test_a_missing_or_incomplete_dependency_is_refused(event: dict[str, Any]) -> None:
    with pytest.raises(DependencyNotReady, match="database: cannot deploy on vpc .*missing"):
        cfn.start_create("database", event, {})
    handoff = {"vpc": cfn.entry("UnitVPC", "CREATE_IN_PROGRESS", REGION)}
    with pytest.raises(DependencyNotReady, match="CREATE_IN_PROGRESS"):
        cfn.start_create("database", event, handoff)
    assert cfn.describe(boto3.client("cloudformation", region_name=REGION), "UnitDatabase") is None


def test_create_passes_outputs_and_a_rerun_skips(event: dict[str, Any]) -> None:
    vpc = cfn.start_create("vpc", event, {})
    assert vpc == {"stackname": "UnitVPC", "status": "CREATE_COMPLETE", "region": REGION}
    database = cfn.start_create("database", event, {"vpc": vpc})
    assert database["status"] == "CREATE_COMPLETE"
    client = boto3.client("cloudformation", region_name=REGION)
    stack = cfn.describe(client, "UnitDatabase")
    assert stack is not None
    params = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert params["PrivateSubnetIds"] == output_value("vpc", "PrivateSubnetIds")
    assert {"Key": "workshop", "Value": event["workshop"]} in stack["Tags"]
    # Already complete: a second start changes nothing.
    assert cfn.start_create("database", event, {"vpc": vpc}) == database
    assert cfn.describe(client, "UnitDatabase")["StackId"] == stack["StackId"]


def test_skipped_without_secondary(event: dict[str, Any]) -> None:
    event = {k: v for k, v in event.items() if k != "secondary_region_name"}
    assert cfn.start_create("replica", event, {})["status"] == "SKIPPED"
    assert cfn.start_delete("replica", event)["status"] == "SKIPPED"


def test_delete_empties_versioned_buckets_and_tolerates_absence(event: dict[str, Any]) -> None:
    assert cfn.start_delete("storage", event)["status"] == "DELETE_COMPLETE"
    cfn.start_create("storage", event, {})
    client = boto3.client("cloudformation", region_name=REGION)
    stack = cfn.describe(client, "UnitStorage")
    (bucket,) = cfn.stack_buckets(client, stack["StackId"])
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for i in range(3):
        s3.put_object(Bucket=bucket, Key=f"k{i % 2}", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="k0")
    assert cfn.empty_bucket(s3, bucket) == 4  # three versions and one delete marker
    assert s3.list_object_versions(Bucket=bucket).get("Versions", []) == []
    assert cfn.empty_bucket(s3, "no-such-bucket-anywhere") == 0
    s3.put_object(Bucket=bucket, Key="left-behind", Body=b"x")  # start_delete empties it too
    assert cfn.start_delete("storage", event)["status"] == "DELETE_COMPLETE"
    assert bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}


def test_refused_deletions_are_an_error_not_an_empty_bucket() -> None:
    class RefusingS3:
        def get_paginator(self, _name: str) -> Any:
            return self

        def paginate(self, Bucket: str) -> list[dict[str, Any]]:  # noqa: N803 - boto3 casing
            return [{"Versions": [{"Key": "report.json", "VersionId": "v1"}]}]

        def delete_objects(self, Bucket: str, Delete: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
            return {"Errors": [{"Key": "report.json", "Code": "AccessDenied", "Message": "no"}]}

    with pytest.raises(BucketNotEmptied, match="lab-reports: 1 object version.*AccessDenied"):
        cfn.empty_bucket(RefusingS3(), "lab-reports")


class FakeEvents:
    """describe_stack_events pages, newest first (as CloudFormation returns them)."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events

    def get_paginator(self, _name: str) -> Any:
        return self

    def paginate(self, StackName: str) -> list[dict[str, Any]]:  # noqa: N803 - boto3 casing
        return [{"StackEvents": self.events}]


def test_first_failure_is_the_oldest_failed_event() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)

    def ev(seconds: int, logical: str, status: str, reason: str = "") -> dict[str, Any]:
        return {"Timestamp": t0 + timedelta(seconds=seconds), "LogicalResourceId": logical,
                "ResourceStatus": status, "ResourceStatusReason": reason}  # fmt: skip

    events = [
        ev(9, "UnitDatabase", "ROLLBACK_COMPLETE"),
        ev(5, "Subnets", "CREATE_FAILED", "Resource creation cancelled"),
        ev(4, "DBInstance", "CREATE_FAILED", "quota exceeded"),
        ev(1, "UnitDatabase", "CREATE_IN_PROGRESS", "User Initiated"),
    ]
    stack = {"StackId": "id", "StackName": "UnitDatabase", "StackStatus": "ROLLBACK_COMPLETE"}
    assert cfn.first_failure(FakeEvents(events), stack) == "DBInstance: quota exceeded"
    error = cfn.stack_failed(FakeEvents(events), spec_for("database"), stack, REGION)
    assert isinstance(error, StackFailed)
    assert str(error) == (
        "stack UnitDatabase (database, us-east-2) is ROLLBACK_COMPLETE: DBInstance: quota exceeded"
    )


@pytest.fixture
def manifest(event: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """The stubs, named by a manifest the create_stack Lambda reads (as an install sets it)."""
    s3 = boto3.client("s3", region_name=REGION)
    stubs = put_stub_templates(s3, event)
    s3.put_object(Bucket=event["cfn_bucket"], Key="v1/templates.json",
                  Body=template_manifest(stubs))  # fmt: skip
    monkeypatch.setenv(cfn.MANIFEST_ENV, f"s3://{event['cfn_bucket']}/v1/templates.json")
    monkeypatch.setenv("AWS_REGION", REGION)
    return stubs


def test_a_template_matching_the_manifest_is_created_from_the_checked_bytes(
    event: dict[str, Any], manifest: dict[str, bytes]
) -> None:
    assert cfn.start_create("vpc", event, {})["status"] == "CREATE_COMPLETE"
    client = boto3.client("cloudformation", region_name=REGION)
    body = client.get_template(StackName="UnitVPC")["TemplateBody"]
    assert json.loads(body if isinstance(body, str) else json.dumps(body)) == json.loads(
        manifest["vpc.yaml"]
    )


def test_a_swapped_template_is_refused_named_before_any_stack_exists(
    event: dict[str, Any], manifest: dict[str, bytes]
) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    swapped = manifest["vpc.yaml"].replace(b'"Resources"', b'"Resources" ', 1)
    s3.put_object(Bucket=event["cfn_bucket"], Key="cloudformation/vpc.yaml", Body=swapped)
    with pytest.raises(TemplateTampered, match=r"vpc\.yaml has SHA-256 [0-9a-f]{64}, the install"):
        cfn.start_create("vpc", event, {})
    assert cfn.describe(boto3.client("cloudformation", region_name=REGION), "UnitVPC") is None


def test_a_template_the_manifest_does_not_list_is_refused(
    event: dict[str, Any], manifest: dict[str, bytes]
) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=event["cfn_bucket"], Key="v1/templates.json",
                  Body=template_manifest({"web.yaml": manifest["web.yaml"]}))  # fmt: skip
    with pytest.raises(TemplateTampered, match="vpc.yaml is not in the installed manifest"):
        cfn.start_create("vpc", event, {})
    assert cfn.describe(boto3.client("cloudformation", region_name=REGION), "UnitVPC") is None


def test_install_settings_fill_their_parameters_only_when_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    web = spec_for("web")
    assert web.install_parameters == {"PermissionsBoundaryArn": "lab_boundary"}
    monkeypatch.delenv(INSTALL_SETTINGS["lab_boundary"], raising=False)
    assert cfn.resolve_parameters(web, ["PermissionsBoundaryArn"], {}, {}) == {}
    arn = "arn:aws:iam::123456789012:policy/lab-boundary"
    monkeypatch.setenv(INSTALL_SETTINGS["lab_boundary"], arn)
    assert cfn.resolve_parameters(web, ["PermissionsBoundaryArn"], {}, {}) == {
        "PermissionsBoundaryArn": arn
    }
