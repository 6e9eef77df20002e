"""Stack actions behind the deploy and teardown Lambdas: start, look, explain a failure.

Every function returns a handoff entry ``{"stackname", "status", "region"}`` (design contract) and
never sleeps: the state machine's Wait states do the waiting.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from reslab_lambda import attach, replication
from reslab_lambda.aws import client, error_code
from reslab_lambda.errors import (
    BucketNotEmptied,
    DependencyNotReady,
    StackFailed,
    TemplateTampered,
)
from reslab_lambda.stacks import INSTALL_SETTINGS, StackSpec, spec_for

#: A stack in one of these is usable: later stacks may be built on it, a re-run skips it.
COMPLETE = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"})
#: A failed create that must be deleted before the stack can be created again.
REPLACE = frozenset({"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED"})
#: Statuses that end a deploy (or a teardown) with StackFailed.
CREATE_FAILED = REPLACE | {"DELETE_FAILED", "UPDATE_ROLLBACK_FAILED"}
DELETE_FAILED = frozenset({"DELETE_FAILED"})
#: A stack in one of these is changing: CloudFormation sends an event when it stops
#: (``reslab_lambda.handoff``).
CFN_IN_PROGRESS = frozenset(
    {
        "CREATE_IN_PROGRESS",
        "DELETE_IN_PROGRESS",
        "ROLLBACK_IN_PROGRESS",
        "UPDATE_IN_PROGRESS",
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
    }
)
#: The status reported for a stack that does not exist (never created, or deleted).
GONE = "DELETE_COMPLETE"
SKIPPED = "SKIPPED"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
#: Set by the installer: the CloudFormation service role stacks are created with (least privilege
#: for the Lambda itself, which only passes it). Unset: CloudFormation uses the caller's rights.
CFN_ROLE_ENV = "RESLAB_CFN_ROLE_ARN"
#: Set by the installer: ``s3://<artifact bucket>/reslab/<VERSION>/templates.json``, the SHA-256 of
#: every lab template of the installed version. Unset (no install): templates are not checked.
MANIFEST_ENV = "RESLAB_TEMPLATE_MANIFEST"


def entry(name: str, status: str, region: str | None) -> dict[str, Any]:
    return {"stackname": name, "status": status, "region": region}


def describe(cfn: Any, name: str) -> dict[str, Any] | None:
    """The stack's description, or None when it does not exist."""
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise
    return stacks[0] if stacks else None


def template_url(event: Mapping[str, Any], spec: StackSpec) -> str:
    bucket, region = event["cfn_bucket"], event["cfn_region"]
    return f"https://{bucket}.s3.{region}.amazonaws.com/{event['folder']}{spec.template_file}"


#: CreateStack's TemplateBody limit (bytes): a verified template this size or smaller is passed as
#: the body, so CloudFormation runs exactly the bytes checked; a larger one goes by TemplateURL.
TEMPLATE_BODY_LIMIT = 51_200


def _s3_object(url: str, region: str | None) -> bytes:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    return bytes(client("s3", region).get_object(Bucket=bucket, Key=key)["Body"].read())


def verified_template(event: Mapping[str, Any], spec: StackSpec) -> bytes | None:
    """The template's bytes once their SHA-256 matches the installed version's manifest
    (``MANIFEST_ENV``); None when there is no manifest (not installed: nothing to check).
    Raises TemplateTampered before anything is created."""
    manifest_url = os.environ.get(MANIFEST_ENV)
    if not manifest_url:
        return None
    manifest = json.loads(_s3_object(manifest_url, os.environ.get("AWS_REGION")))
    expected = manifest.get("sha256", {}).get(spec.template_file)
    where = f"s3://{event['cfn_bucket']}/{event['folder']}{spec.template_file}"
    if expected is None:
        raise TemplateTampered(f"{where}: {spec.template_file} is not in the installed manifest")
    try:
        body = _s3_object(where, event["cfn_region"])
    except ClientError as exc:
        raise TemplateTampered(f"{where}: cannot be read ({error_code(exc)})") from None
    actual = hashlib.sha256(body).hexdigest()
    if actual != expected:
        raise TemplateTampered(
            f"{where} has SHA-256 {actual}, the installed version's {spec.template_file} has "
            f"{expected}: refusing to create stack {spec.key} from it (re-run reslab install "
            "to upload the installed templates)"
        )
    return body


def template_source(url: str, body: bytes | None) -> dict[str, str]:
    """``TemplateBody`` for a verified template within the limit, else ``TemplateURL``."""
    if body is not None and len(body) <= TEMPLATE_BODY_LIMIT:
        return {"TemplateBody": body.decode()}
    return {"TemplateURL": url}


def first_failure(cfn: Any, stack: Mapping[str, Any], since: float | None = None) -> str:
    """The oldest ``*_FAILED`` event's reason (the root cause), else the stack's own reason;
    ``since`` (epoch seconds): only events of the operation that started then (an update's,
    not the stack's older history)."""
    events: list[dict[str, Any]] = []
    for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack["StackId"]):
        events.extend(page["StackEvents"])
    for event in sorted(events, key=lambda e: e["Timestamp"]):
        if since is not None and event["Timestamp"].timestamp() < since - 1:
            continue  # the 1 s: CloudFormation's event times are whole seconds
        if event.get("ResourceStatus", "").endswith("_FAILED") and event.get(
            "ResourceStatusReason"
        ):
            return f"{event['LogicalResourceId']}: {event['ResourceStatusReason']}"
    return stack.get("StackStatusReason") or "no reason given"


def stack_failed(cfn: Any, spec: StackSpec, stack: Mapping[str, Any], region: str) -> StackFailed:
    reason = first_failure(cfn, stack)
    return StackFailed(
        f"stack {stack['StackName']} ({spec.key}, {region}) is {stack['StackStatus']}: {reason}"
    )


def check_dependencies(spec: StackSpec, stacks: Mapping[str, Any]) -> None:
    """Raise DependencyNotReady unless every stack ``spec`` depends on is complete."""
    for dep in spec.depends_on:
        status = (stacks.get(dep) or {}).get("status", "missing")
        if status not in COMPLETE | {SKIPPED}:
            raise DependencyNotReady(
                f"{spec.key}: cannot deploy on {dep} (handoff status {status}); deploy {dep} first"
            )


def dependency_outputs(spec: StackSpec, stacks: Mapping[str, Any]) -> dict[str, str]:
    outputs: dict[str, str] = {}
    for dep in spec.depends_on:
        handoff = stacks[dep]
        if handoff.get("status") == SKIPPED:  # an optional stack this event does not deploy
            continue
        stack = describe(client("cloudformation", handoff["region"]), handoff["stackname"])
        if stack is None or stack["StackStatus"] not in COMPLETE:
            status = stack["StackStatus"] if stack else "missing"
            raise DependencyNotReady(f"{spec.key}: dependency {dep} is {status} in CloudFormation")
        outputs.update({o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])})
    return outputs


#: The most Availability Zones a lab VPC uses (vpc.yaml's ``AvailabilityZoneCount``), the fewest
#: it can use (RDS subnet groups and load balancers need two).
MAX_AZS, MIN_AZS = 3, 2


def availability_zone_count(region: str) -> str:
    """The region's available Availability Zones, capped at :data:`MAX_AZS`; StackFailed when
    there are fewer than :data:`MIN_AZS` (nothing is created)."""
    zones = client("ec2", region).describe_availability_zones(
        Filters=[
            {"Name": "state", "Values": ["available"]},
            {"Name": "zone-type", "Values": ["availability-zone"]},
        ]
    )["AvailabilityZones"]
    if len(zones) < MIN_AZS:
        raise StackFailed(
            f"region {region} has {len(zones)} available Availability Zone(s); the lab needs "
            f"{MIN_AZS} (its database and load balancer span two)"
        )
    return str(min(len(zones), MAX_AZS))


#: :data:`reslab_lambda.stacks.REGION_FACTS` name -> how to read it in a region.
_FACTS = {"availability_zone_count": availability_zone_count}


def region_facts(spec: StackSpec, region: str) -> dict[str, str]:
    """The values of the row's ``region_parameters`` (parameter -> fact) read in ``region``."""
    return {name: _FACTS[fact](region) for name, fact in spec.region_parameters.items()}


def resolve_parameters(
    spec: StackSpec,
    wanted: Iterable[str],
    event: Mapping[str, Any],
    outputs: Mapping[str, str],
    facts: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """A value for every template parameter in ``wanted`` we can fill: the stack's event key
    (non-empty values), else its install setting (the installer's, from the environment), else
    the fact about its region (``facts``: :func:`region_facts`), else the output of the same name
    of a stack it depends on (``outputs``: theirs, merged). The rest are left out: the template
    default applies, and a parameter without one makes CloudFormation refuse the create
    (:func:`start_create` raises StackFailed)."""
    values: dict[str, str] = {}
    for name in wanted:
        event_key = spec.event_parameters.get(name)
        if event_key and event.get(event_key) not in (None, ""):
            values[name] = str(event[event_key])
        elif install_setting(spec, name):
            values[name] = install_setting(spec, name)
        elif facts and name in facts:
            values[name] = facts[name]
        elif name in outputs:
            values[name] = outputs[name]
    return values


def install_setting(spec: StackSpec, parameter: str) -> str:
    """The install setting filling ``parameter`` (``install_parameters``), "" when unset."""
    setting = spec.install_parameters.get(parameter)
    return os.environ.get(INSTALL_SETTINGS[setting], "") if setting else ""


def parameters(
    cfn: Any,
    source: Mapping[str, str],
    spec: StackSpec,
    event: Mapping[str, Any],
    outputs: Mapping[str, str],
    facts: Mapping[str, str] | None = None,
) -> list[dict[str, str]]:
    """The CreateStack parameters of the template (``source``: its ``TemplateURL`` or
    ``TemplateBody``; :func:`resolve_parameters`)."""
    wanted = [p["ParameterKey"] for p in cfn.get_template_summary(**source)["Parameters"]]
    values = resolve_parameters(spec, wanted, event, outputs, facts)
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


def start_create(key: str, event: Mapping[str, Any], stacks: Mapping[str, Any]) -> dict[str, Any]:
    """Create the stack unless it is already there; a failed one is deleted first (resume)."""
    spec = spec_for(key)
    name, region = spec.stack_name(event), spec.region(event)
    if region is None:
        return entry(name, SKIPPED, None)
    check_dependencies(spec, stacks)
    cfn = client("cloudformation", region)
    stack = describe(cfn, name)
    if stack is not None:
        status = stack["StackStatus"]
        if status in REPLACE:
            cfn.delete_stack(StackName=stack["StackId"])
            return entry(name, "DELETE_IN_PROGRESS", region)
        if status == "DELETE_FAILED":
            raise stack_failed(cfn, spec, stack, region)
        return entry(name, status, region)  # complete (skip) or in progress (wait)
    source = template_source(template_url(event, spec), verified_template(event, spec))
    outputs = dependency_outputs(spec, stacks)
    facts = region_facts(spec, region)
    role = {"RoleARN": os.environ[CFN_ROLE_ENV]} if os.environ.get(CFN_ROLE_ENV) else {}
    try:
        cfn.create_stack(
            StackName=name,
            **source,
            Parameters=parameters(cfn, source, spec, event, outputs, facts),
            Capabilities=CAPABILITIES,
            Tags=[{"Key": "workshop", "Value": event["workshop"]}],
            **role,
        )
    except ClientError as exc:
        code = error_code(exc)
        if code == "ValidationError":  # a template or parameter error: the create failed
            message = exc.response["Error"].get("Message", str(exc))
            raise StackFailed(f"stack {name} ({key}, {region}) was refused: {message}") from None
        if code != "AlreadyExistsException":  # a retried invocation may find its own create
            raise
    return status_of(key, event, "create")


Existing = tuple[StackSpec, str, Any, dict[str, Any]]


def existing(key: str, event: Mapping[str, Any]) -> Existing | dict[str, Any]:
    """The stack as it is: (spec, region, the region's CloudFormation client, its description);
    or, when there is no stack, its handoff entry (SKIPPED: no region for it; GONE)."""
    spec = spec_for(key)
    name, region = spec.stack_name(event), spec.region(event)
    if region is None:
        return entry(name, SKIPPED, None)
    cfn = client("cloudformation", region)
    stack = describe(cfn, name)
    return entry(name, GONE, region) if stack is None else (spec, region, cfn, stack)


def status_of(key: str, event: Mapping[str, Any], action: str) -> dict[str, Any]:
    """The stack's handoff entry; raises StackFailed when ``action`` can no longer succeed."""
    found = existing(key, event)
    if isinstance(found, dict):
        return found
    spec, region, cfn, stack = found
    name, status = spec.stack_name(event), stack["StackStatus"]
    if status in (CREATE_FAILED if action == "create" else DELETE_FAILED):
        raise stack_failed(cfn, spec, stack, region)
    if spec.replication_task_output:
        if action == "create" and status in COMPLETE:
            status = replication.after_create(spec, region, stack)
        elif action == "delete" and status != "DELETE_IN_PROGRESS":
            # stopping, or stopped: the machine then calls delete_stack again
            status = replication.before_delete(spec, region, stack) or replication.STOPPED
    if spec.check_vpc and action == "create" and status in COMPLETE:
        status = attach.after_create(spec, region, stack)
    elif spec.check_vpc and action == "delete" and status != "DELETE_IN_PROGRESS":
        # detaching the check Lambdas, or detached: the machine then calls delete_stack again
        status = attach.before_delete(spec, region, stack) or replication.STOPPED
    return entry(name, status, region)


def empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every object version and delete marker; returns how many were deleted."""
    deleted = 0
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            doomed = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            for i in range(0, len(doomed), 1000):
                batch = {"Objects": doomed[i : i + 1000], "Quiet": True}
                errors = s3.delete_objects(Bucket=bucket, Delete=batch).get("Errors", [])
                if errors:  # DeleteObjects answers 200 and lists the keys it refused
                    first = errors[0]
                    raise BucketNotEmptied(
                        f"{bucket}: {len(errors)} object version(s) not deleted, e.g. "
                        f"{first.get('Key')}: {first.get('Code')} {first.get('Message', '')}"
                    )
            deleted += len(doomed)
    except ClientError as exc:
        if error_code(exc) != "NoSuchBucket":
            raise
    return deleted


def stack_resources(cfn: Any, stack_id: str, resource_type: str) -> list[str]:
    """The physical ids of the stack's resources of ``resource_type``."""
    found: list[str] = []
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_id):
        found.extend(
            r["PhysicalResourceId"]
            for r in page["StackResourceSummaries"]
            if r["ResourceType"] == resource_type and r.get("PhysicalResourceId")
        )
    return found


def stack_buckets(cfn: Any, stack_id: str) -> list[str]:
    return stack_resources(cfn, stack_id, "AWS::S3::Bucket")


def start_delete(key: str, event: Mapping[str, Any]) -> dict[str, Any]:
    """Empty the stack's buckets (all versions) and delete it; a missing stack is fine."""
    found = existing(key, event)
    if isinstance(found, dict):
        return found
    spec, region, cfn, stack = found
    if stack["StackStatus"] != "DELETE_IN_PROGRESS":
        if spec.replication_task_output:  # stop the task first; stack_status deletes after
            waiting = replication.before_delete(spec, region, stack)
            if waiting:
                return entry(spec.stack_name(event), waiting, region)
        if spec.check_vpc:  # the check Lambdas' interfaces would hold the subnets and group
            waiting = attach.before_delete(spec, region, stack)
            if waiting:
                return entry(spec.stack_name(event), waiting, region)
        _delete(cfn, region, stack)
    return status_of(key, event, "delete")


def _delete(cfn: Any, region: str, stack: Mapping[str, Any]) -> str:
    """Empty the stack's buckets (all versions) and delete it; the status it is in now."""
    s3 = client("s3", region)
    for bucket in stack_buckets(cfn, stack["StackId"]):
        empty_bucket(s3, bucket)
    cfn.delete_stack(StackName=stack["StackId"])
    return "DELETE_IN_PROGRESS"
