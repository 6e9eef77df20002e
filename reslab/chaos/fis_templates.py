"""AWS Fault Injection Service (FIS) experiment templates: one builder per fault.

Each template is the input of FIS ``CreateExperimentTemplate`` (without ``clientToken``, so
``aws fis create-experiment-template --cli-input-json file://fis-az.json`` works as is), with a
stop condition on a CloudWatch alarm and an execution role ARN (both placeholders unless given).
The fault table (:data:`reslab.chaos.faults.FAULTS`) names each fault's builder;
:mod:`reslab.chaos.fis` validates and writes them.

FIS has no "deny S3 reads" action. The S3 template therefore uses
``aws:ssm:start-automation-execution`` to run a small SSM Automation document (written next to
the templates, ``ssm-ReslabS3DenyRead.json``)
that merges the same ``ReslabInjectDenyRead`` statement into the bucket policy, sleeps, and removes
only that statement again - also when the experiment is stopped (``onCancel``) or a step fails.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from reslab.chaos.actions import DENY_SID

ACCOUNT = "ACCOUNT_ID"
SSM_DOCUMENT = "ReslabS3DenyRead"
AUTOMATION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ReslabS3DenyReadAutomation"


@dataclass(frozen=True)
class Settings:
    region: str
    workshop: str
    alarm_arn: str | None = None
    role_arn: str | None = None
    az: str | None = None
    duration_s: float = 300.0
    bucket: str | None = None

    @property
    def alarm(self) -> str:
        return (
            self.alarm_arn
            or f"arn:aws:cloudwatch:{self.region}:{ACCOUNT}:alarm:ReslabStopExperiment"
        )

    @property
    def role(self) -> str:
        return self.role_arn or f"arn:aws:iam::{ACCOUNT}:role/ReslabFisExperimentRole"

    @property
    def iso_duration(self) -> str:
        return f"PT{max(1, round(self.duration_s))}S"


def _base(s: Settings, name: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "stopConditions": [{"source": "aws:cloudwatch:alarm", "value": s.alarm}],
        "roleArn": s.role,
        "tags": {"workshop": s.workshop, "Name": f"reslab-{name}"},
        "experimentOptions": {
            "accountTargeting": "single-account",
            "emptyTargetResolutionMode": "fail",
        },
        "targets": {},
        "actions": {},
    }


def instance_template(s: Settings) -> dict[str, Any]:
    t = _base(s, "instance", f"reslab: terminate one running instance of lab {s.workshop}")
    t["targets"]["LabInstances"] = {
        "resourceType": "aws:ec2:instance",
        "resourceTags": {"workshop": s.workshop},
        "filters": [{"path": "State.Name", "values": ["running"]}],
        "selectionMode": "COUNT(1)",
    }
    t["actions"]["TerminateInstance"] = {
        "actionId": "aws:ec2:terminate-instances",
        "description": "the Auto Scaling group should replace it; the site should stay up",
        "targets": {"Instances": "LabInstances"},
    }
    return t


def _isolation(
    s: Settings, name: str, description: str, target: str, action: str, what: str
) -> dict[str, Any]:
    """``aws:network:disrupt-connectivity`` (scope all) on the lab subnets ``target`` selects."""
    t = _base(s, name, description)
    t["targets"][target] = {
        "resourceType": "aws:ec2:subnet",
        "resourceTags": {"workshop": s.workshop},
        "selectionMode": "ALL",
    }
    t["actions"][action] = {
        "actionId": "aws:network:disrupt-connectivity",
        "description": f"deny-all network ACL on {what}; FIS restores them afterwards",
        "parameters": {"duration": s.iso_duration, "scope": "all"},
        "targets": {"Subnets": target},
    }
    return t


def az_template(s: Settings) -> dict[str, Any]:
    az = s.az or f"{s.region}a"
    description = f"reslab: isolate {az} (all traffic of lab {s.workshop}'s subnets there)"
    t = _isolation(s, "az", description, "LabSubnetsInAz", "IsolateAz", "the subnets")
    t["targets"]["LabSubnetsInAz"]["filters"] = [{"path": "AvailabilityZone", "values": [az]}]
    return t


def region_template(s: Settings) -> dict[str, Any]:
    description = f"reslab: lose {s.region} (all traffic of lab {s.workshop}'s subnets)"
    what = "every lab subnet of the region"
    return _isolation(s, "region", description, "LabSubnets", "IsolateRegion", what)


def rds_template(s: Settings) -> dict[str, Any]:
    t = _base(s, "rds", f"reslab: Multi-AZ failover of lab {s.workshop}'s database")
    t["targets"]["LabDatabase"] = {
        "resourceType": "aws:rds:db",
        "resourceTags": {"workshop": s.workshop},
        "selectionMode": "ALL",
    }
    t["actions"]["FailOver"] = {
        "actionId": "aws:rds:reboot-db-instances",
        "description": "reboot with failover to the standby",
        "parameters": {"forceFailover": "true"},
        "targets": {"DBInstances": "LabDatabase"},
    }
    return t


def s3_template(s: Settings) -> dict[str, Any]:
    t = _base(s, "s3", f"reslab: deny reads of lab {s.workshop}'s website image (SSM automation)")
    bucket = s.bucket or "WEBSITE_BUCKET_NAME"
    t["actions"]["DenyImageReads"] = {
        "actionId": "aws:ssm:start-automation-execution",
        "description": f"runs SSM document {SSM_DOCUMENT}: add {DENY_SID}, wait, remove it",
        "parameters": {
            "documentArn": f"arn:aws:ssm:{s.region}:{ACCOUNT}:document/{SSM_DOCUMENT}",
            "documentParameters": json.dumps(
                {
                    "BucketName": bucket,
                    "KeyPattern": "*",
                    "Duration": s.iso_duration,
                    "AutomationAssumeRole": AUTOMATION_ROLE,
                }
            ),
            "maxDuration": f"PT{max(1, round(s.duration_s)) + 300}S",
        },
    }
    return t


_SSM_DENY = f'''import json
def handler(events, context):
    import boto3
    s3 = boto3.client("s3")
    bucket = events["BucketName"]
    try:
        text = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    except s3.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchBucketPolicy":
            raise
        text = None
    policy = json.loads(text) if text else {{"Version": "2012-10-17", "Statement": []}}
    stmts = policy["Statement"] if isinstance(policy["Statement"], list) else [policy["Statement"]]
    stmts = [s for s in stmts if s.get("Sid") != "{DENY_SID}"]
    stmts.append({{"Sid": "{DENY_SID}", "Effect": "Deny", "Principal": "*",
                  "Action": "s3:GetObject",
                  "Resource": "arn:aws:s3:::" + bucket + "/" + events["KeyPattern"]}})
    policy["Statement"] = stmts
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    return {{"PreviousPolicy": text or ""}}
'''

_SSM_RESTORE = f'''import json
def handler(events, context):
    import boto3
    s3 = boto3.client("s3")
    bucket, previous = events["BucketName"], events.get("PreviousPolicy") or ""
    try:
        current = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except s3.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchBucketPolicy":
            raise
        return {{"Action": "nothing"}}
    stmts = current["Statement"]
    stmts = stmts if isinstance(stmts, list) else [stmts]
    rest = [s for s in stmts if s.get("Sid") != "{DENY_SID}"]
    if len(rest) == len(stmts):
        return {{"Action": "nothing"}}
    current["Statement"] = rest
    if previous and json.loads(previous) == current:
        s3.put_bucket_policy(Bucket=bucket, Policy=previous)
        return {{"Action": "restored"}}
    if not rest:
        s3.delete_bucket_policy(Bucket=bucket)
        return {{"Action": "deleted"}}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(current))
    return {{"Action": "kept-others"}}
'''


def ssm_document() -> dict[str, Any]:
    """SSM Automation document: deny reads, hold, then remove only our statement (always)."""
    restore = "step:RemoveDenyStatement"
    return {
        "schemaVersion": "0.3",
        "description": f"reslab: deny s3:GetObject with statement {DENY_SID}, hold, remove it",
        "assumeRole": "{{ AutomationAssumeRole }}",
        "parameters": {
            "BucketName": {"type": "String"},
            "KeyPattern": {"type": "String", "default": "*"},
            "Duration": {"type": "String", "default": "PT300S"},
            "AutomationAssumeRole": {"type": "String"},
        },
        "mainSteps": [
            {
                "name": "AddDenyStatement",
                "action": "aws:executeScript",
                "onFailure": restore,
                "onCancel": restore,
                "inputs": {
                    "Runtime": "python3.11",
                    "Handler": "handler",
                    "Script": _SSM_DENY,
                    "InputPayload": {
                        "BucketName": "{{ BucketName }}",
                        "KeyPattern": "{{ KeyPattern }}",
                    },
                },
                "outputs": [
                    {
                        "Name": "PreviousPolicy",
                        "Selector": "$.Payload.PreviousPolicy",
                        "Type": "String",
                    }
                ],
            },
            {
                "name": "Hold",
                "action": "aws:sleep",
                "onFailure": restore,
                "onCancel": restore,
                "inputs": {"Duration": "{{ Duration }}"},
            },
            {
                "name": "RemoveDenyStatement",
                "action": "aws:executeScript",
                "isEnd": True,
                "inputs": {
                    "Runtime": "python3.11",
                    "Handler": "handler",
                    "Script": _SSM_RESTORE,
                    "InputPayload": {
                        "BucketName": "{{ BucketName }}",
                        "PreviousPolicy": "{{ AddDenyStatement.PreviousPolicy }}",
                    },
                },
            },
        ],
    }
