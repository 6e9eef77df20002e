"""Install the lab's machinery as ONE CloudFormation stack (cloudformation/installer.yaml).

``install`` uploads the lab templates and the boot artifacts named by the event, uploads the
installer artifacts (Lambda zips, ASL) under a content-addressed prefix, then creates or updates
the installer stack and reads back its outputs. The same code talks to the local cloud and to
AWS; only the client factory differs (locally the Lambda zips are the local cloud's flavour).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from reslab import packaging
from reslab.clients import ClientFactory
from reslab.errors import ReslabError, StackFailed
from reslab.functions import FUNCTIONS
from reslab.installer.buckets import ensure_bucket, object_exists, workshop_tags
from reslab.installer.dms_roles import ensure_dms_service_roles
from reslab.installer.stack_code import upload_dms_code
from reslab.machines import MACHINES
from reslab_lambda import event as event_keys
from reslab_lambda.cfn import describe, first_failure
from reslab_lambda.stacks import stack_table

WEBAPP_OBJECT = event_keys.WEBAPP_OBJECT
#: Where a build's installer artifacts go in the artifact bucket: ``reslab/<version>/``.
ARTIFACT_ROOT = "reslab/"
INSTALLER_CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
_DONE = ("CREATE_COMPLETE", "UPDATE_COMPLETE")
_ROLLED_BACK = ("ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_COMPLETE")
INSTALL_TIMEOUT_SECONDS = 1800


@dataclass
class Installation:
    """What :func:`install` created: the installer stack's outputs, by role."""

    name: str
    region: str
    functions: dict[str, str] = field(default_factory=dict)
    machines: dict[str, str] = field(default_factory=dict)
    report_bucket: str = ""
    stack_id: str = ""

    @classmethod
    def from_outputs(
        cls, name: str, region: str, stack_id: str, outputs: Mapping[str, str]
    ) -> Installation:
        return cls(
            name=name,
            region=region,
            stack_id=stack_id,
            functions={fn.folder: outputs[fn.placeholder] for fn in FUNCTIONS},
            machines={m: outputs[f"{m.capitalize()}MachineArn"] for m in MACHINES},
            report_bucket=outputs["ReportBucketName"],
        )


def upload_templates(s3: Any, event: Mapping[str, Any]) -> list[str]:
    """Put every template at ``s3://cfn_bucket/folder<file>``; returns the keys."""
    keys = []
    for spec in stack_table():
        key = f"{event['folder']}{spec.template_file}"
        body = (packaging.REPO_ROOT / spec.template_path).read_bytes()
        s3.put_object(Bucket=event["cfn_bucket"], Key=key, Body=body)
        keys.append(key)
    return keys


def upload_boot(s3: Any, event: Mapping[str, Any]) -> list[str]:
    """The bootstrap script (as boot_object; empty: bootstrap.sh) and the web-app tarball under
    boot_prefix: the very keys the instances fetch (``reslab_lambda.event.boot_keys``)."""
    bucket = event["boot_bucket"]
    script_key, bundle_key = event_keys.boot_keys(event)
    if not packaging.BOOTSTRAP.is_file() or not packaging.WEBAPP_DIR.is_dir():
        raise ReslabError(
            f"no {packaging.BOOTSTRAP} or {packaging.WEBAPP_DIR}: the instances would fetch "
            f"s3://{bucket}/{script_key} and {bundle_key}; run from a reslab source tree"
        )
    s3.put_object(Bucket=bucket, Key=script_key, Body=packaging.BOOTSTRAP.read_bytes())
    s3.put_object(Bucket=bucket, Key=bundle_key, Body=packaging.webapp_tarball())
    return [script_key, bundle_key]


def upload_artifacts(s3: Any, bucket: str, files: Mapping[str, bytes]) -> str:
    """Put the installer artifacts under ``reslab/<content hash>/`` (skipped when that build is
    there already: the template, uploaded last, marks a complete upload); returns the prefix
    (the stack's ArtifactPrefix)."""
    prefix = f"{ARTIFACT_ROOT}{packaging.artifact_version(files)}/"
    marker = packaging.INSTALLER_TEMPLATE.name
    if object_exists(s3, bucket, f"{prefix}{marker}"):
        return prefix
    for name in sorted(files, key=lambda n: n == marker):
        s3.put_object(Bucket=bucket, Key=f"{prefix}{name}", Body=files[name])
    return prefix


def stack_parameters(
    event: Mapping[str, Any], artifact_bucket: str, artifact_prefix: str
) -> dict[str, str]:
    """The installer stack's parameters for a (normalised) deployment event."""
    return {
        "ArtifactBucket": artifact_bucket,
        "ArtifactPrefix": artifact_prefix,
        "Workshop": event["workshop"],
        "StackPrefix": event["stack_prefix"],
        "LabBucketPrefix": event["stack_prefix"].lower(),
        "TemplateBucket": event["cfn_bucket"],
        "TemplateFolder": event["folder"],
        "BootBucket": event["boot_bucket"],
        "LogLevel": event.get("log_level", "INFO"),
    }


def deploy_stack(
    cfn: Any,
    stack_name: str,
    template_url: str,
    parameters: Mapping[str, str],
    workshop: str,
    poll_seconds: float,
) -> dict[str, Any]:
    """Create or update the stack and wait for it; :class:`StackFailed` names the root cause."""
    request: dict[str, Any] = {
        "StackName": stack_name,
        "TemplateURL": template_url,
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        "Capabilities": INSTALLER_CAPABILITIES,
        "Tags": workshop_tags(workshop),
    }
    existing = describe(cfn, stack_name)
    if existing and existing["StackStatus"] in _DONE and _same(existing, parameters):
        return existing  # same build, same settings: nothing to update
    if existing and existing["StackStatus"] == "ROLLBACK_COMPLETE":
        cfn.delete_stack(StackName=existing["StackId"])  # a failed first create cannot update
        _wait(cfn, existing["StackId"], poll_seconds, ("DELETE_COMPLETE",))
        existing = None
    if existing is None:
        try:
            stack_id = cfn.create_stack(**request, OnFailure="ROLLBACK")["StackId"]
        except ClientError as exc:  # a retried call (read timeout) finds its own create
            if exc.response.get("Error", {}).get("Code") != "AlreadyExistsException":
                raise
            stack_id = describe(cfn, stack_name)["StackId"]  # type: ignore[index]
    else:
        stack_id = existing["StackId"]
        try:
            cfn.update_stack(**request)
        except ClientError as exc:
            if "No updates are to be performed" not in str(exc):
                raise
    return _wait(cfn, stack_id, poll_seconds, _DONE)


def _same(stack: Mapping[str, Any], parameters: Mapping[str, str]) -> bool:
    """The stack already has these values (the others keep their defaults)."""
    current = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}
    return all(current.get(key) == value for key, value in parameters.items())


def _wait(cfn: Any, stack_id: str, poll_seconds: float, done: tuple[str, ...]) -> dict[str, Any]:
    deadline = time.monotonic() + INSTALL_TIMEOUT_SECONDS
    while True:
        stack = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
        status = stack["StackStatus"]
        if status in done:
            return dict(stack)
        if status.endswith("_FAILED") or status in _ROLLED_BACK:
            raise StackFailed(
                f"installer stack {stack['StackName']} is {status}: {first_failure(cfn, stack)}"
            )
        if time.monotonic() > deadline:
            raise StackFailed(f"installer stack {stack['StackName']} still {status}")
        time.sleep(poll_seconds)


def install(
    clients: ClientFactory,
    name: str,
    event: Mapping[str, Any],
    artifact_bucket: str | None = None,
) -> Installation:
    """Upload templates, boot and installer artifacts, then create or update the installer stack
    ``name`` in ``region_name``.

    ``event`` must be normalised (``reslab.event.validate_event``). Templates go to ``cfn_bucket``
    in ``cfn_region``; the installer artifacts to ``artifact_bucket`` (default: ``boot_bucket``,
    which is in ``region_name`` as Lambda code must be). An event with ``dms: true`` first gets
    the account's DMS service roles, created when absent (:mod:`reslab.installer.dms_roles`),
    and the dms stack's function code in its secondary region (:mod:`.stack_code`).
    """
    region, workshop = event["region_name"], event["workshop"]
    if event.get("dms") is True:  # account prerequisites of the DMS mode, created if absent
        ensure_dms_service_roles(clients("iam", region), _partition(region))
    cfn_s3 = clients("s3", event["cfn_region"])
    ensure_bucket(cfn_s3, event["cfn_bucket"], event["cfn_region"], workshop)
    upload_templates(cfn_s3, event)
    s3 = clients("s3", region)
    ensure_bucket(s3, event["boot_bucket"], region, workshop)
    upload_boot(s3, event)
    bucket = artifact_bucket or event["boot_bucket"]
    if bucket != event["boot_bucket"]:
        ensure_bucket(s3, bucket, region, workshop)
    cfn = clients("cloudformation", region)
    local = is_local_endpoint(cfn)
    prefix = upload_artifacts(s3, bucket, packaging.installer_artifacts(local=local))
    dms_code = upload_dms_code(clients, event, local)
    url = f"https://{bucket}.s3.{region}.amazonaws.com/{prefix}{packaging.INSTALLER_TEMPLATE.name}"
    stack = deploy_stack(
        cfn,
        name,
        url,
        {**stack_parameters(event, bucket, prefix), **dms_code},
        workshop,
        poll_seconds=0.2 if local else 5.0,
    )
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return Installation.from_outputs(name, region, stack["StackId"], outputs)


def _partition(region: str) -> str:
    import boto3

    return boto3.session.Session().get_partition_for_region(region)


def is_local_endpoint(client: Any) -> bool:
    """True when a boto3 client talks to a loopback endpoint (the embedded local cloud)."""
    host = urlsplit(str(client.meta.endpoint_url)).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")
