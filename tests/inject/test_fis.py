"""FIS export: templates valid per botocore's CreateExperimentTemplate shape, accepted by moto's
FIS, and the S3 SSM automation's scripts really add and remove only our statement."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reslab.chaos import fis, fis_templates
from reslab.chaos.actions import DENY_SID
from reslab.chaos.errors import InvalidFisTemplate
from reslab.cli.app import app
from tests.inject.conftest import IMAGE_KEY, REGION, WEBSITE_POLICY, WORKSHOP, World

ALARM = f"arn:aws:cloudwatch:{REGION}:123456789012:alarm:lab-5xx"
ROLE = "arn:aws:iam::123456789012:role/fis-lab"


def exported(world: World, tmp_path: Path) -> dict[str, Any]:
    result = CliRunner().invoke(
        app,
        [
            "fis", "export", "--out", str(tmp_path), "--alarm-arn", ALARM, "--role-arn", ROLE,
            "--az", "us-east-2b", "--duration", "120", "--bucket", world.bucket,
            "--region", REGION, "--workshop", WORKSHOP, "--endpoint-url", world.endpoint,
            "--validate-remote",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return {p.stem: json.loads(p.read_text()) for p in sorted(tmp_path.glob("*.json"))}


def test_export_writes_five_valid_templates_accepted_by_fis(world: World, tmp_path: Path) -> None:
    files = exported(world, tmp_path)
    assert set(files) == {
        "fis-instance", "fis-az", "fis-region", "fis-rds", "fis-s3", "ssm-ReslabS3DenyRead"
    }  # fmt: skip
    action_ids = {}
    for name in ("fis-instance", "fis-az", "fis-region", "fis-rds", "fis-s3"):
        template = files[name]
        fis.validate(template)
        assert template["stopConditions"] == [{"source": "aws:cloudwatch:alarm", "value": ALARM}]
        assert template["roleArn"] == ROLE and template["tags"]["workshop"] == WORKSHOP
        (action,) = template["actions"].values()
        action_ids[name] = action["actionId"]
        for target in template.get("targets", {}).values():
            assert target["resourceTags"] == {"workshop": WORKSHOP}  # tag-scoped, always
    assert action_ids == {
        "fis-instance": "aws:ec2:terminate-instances",
        "fis-az": "aws:network:disrupt-connectivity",
        "fis-region": "aws:network:disrupt-connectivity",
        "fis-rds": "aws:rds:reboot-db-instances",
        "fis-s3": "aws:ssm:start-automation-execution",
    }
    az = files["fis-az"]
    assert az["actions"]["IsolateAz"]["parameters"] == {"duration": "PT120S", "scope": "all"}
    assert az["targets"]["LabSubnetsInAz"]["filters"] == [
        {"path": "AvailabilityZone", "values": ["us-east-2b"]}
    ]
    assert "filters" not in files["fis-region"]["targets"]["LabSubnets"]  # every AZ
    rds = files["fis-rds"]["actions"]["FailOver"]["parameters"]
    assert rds == {"forceFailover": "true"}
    s3 = json.loads(
        files["fis-s3"]["actions"]["DenyImageReads"]["parameters"]["documentParameters"]
    )
    assert s3["BucketName"] == world.bucket
    # --validate-remote created and deleted each one on moto's FIS
    client = world.client("fis")
    assert client.list_experiment_templates()["experimentTemplates"] == []


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        (lambda t: t["actions"]["IsolateAz"]["targets"].update(Subnets="Nope"), "Subnets"),
        (lambda t: t["targets"]["LabSubnetsInAz"].update(resourceType="aws:ec2:instance"),
         "must be aws:ec2:subnet"),
        (lambda t: t.pop("roleArn"), "roleArn"),
        (lambda t: t["actions"]["IsolateAz"].update(actionId="aws:s3:deny"), "unknown actionId"),
        (lambda t: t.update(stopConditions="alarm"), "stopConditions"),
    ],
)  # fmt: skip
def test_validation_rejects_broken_templates(break_it: Any, message: str) -> None:
    settings = fis_templates.Settings(region=REGION, workshop=WORKSHOP)
    template = copy.deepcopy(fis_templates.az_template(settings))
    fis.validate(template)
    break_it(template)
    with pytest.raises(InvalidFisTemplate, match=message):
        fis.validate(template)


def test_ssm_automation_document_and_its_scripts(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = fis_templates.ssm_document()
    world.client("ssm").create_document(
        Name=fis_templates.SSM_DOCUMENT, Content=json.dumps(document), DocumentType="Automation",
        DocumentFormat="JSON",
    )  # fmt: skip
    steps = {s["name"]: s for s in document["mainSteps"]}
    assert steps["AddDenyStatement"]["onCancel"] == "step:RemoveDenyStatement"
    assert steps["Hold"]["onCancel"] == "step:RemoveDenyStatement"
    # run the two scripts as SSM would, against moto
    for key, value in {
        "AWS_ENDPOINT_URL": world.endpoint, "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():  # fmt: skip
        monkeypatch.setenv(key, value)

    def handler(step: str) -> Any:
        scope: dict[str, Any] = {}
        exec(steps[step]["inputs"]["Script"], scope)  # the document's own code
        return scope["handler"]

    s3 = world.client("s3")
    out = handler("AddDenyStatement")({"BucketName": world.bucket, "KeyPattern": IMAGE_KEY}, None)
    assert out == {"PreviousPolicy": WEBSITE_POLICY}
    sids = [s["Sid"] for s in json.loads(s3.get_bucket_policy(Bucket=world.bucket)["Policy"])[
        "Statement"]]  # fmt: skip
    assert sids == ["ExistingListForAuditors", DENY_SID]
    restore = handler("RemoveDenyStatement")
    assert restore({"BucketName": world.bucket, "PreviousPolicy": WEBSITE_POLICY}, None) == {
        "Action": "restored"
    }
    assert s3.get_bucket_policy(Bucket=world.bucket)["Policy"] == WEBSITE_POLICY
    assert restore({"BucketName": world.bucket, "PreviousPolicy": WEBSITE_POLICY}, None) == {
        "Action": "nothing"
    }
    world.client("ssm").delete_document(Name=fis_templates.SSM_DOCUMENT)
