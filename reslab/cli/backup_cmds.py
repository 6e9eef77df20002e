"""``reslab verify-backup`` (run the restore machine, print the verdict) and ``reslab reports``."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import typer

from reslab.errors import LocalCloudError, ReslabError
from reslab.restore.errors import ExecutionError, InvalidRestoreEvent, ReportNotFound
from reslab.restore.event import (
    SNAPSHOT_LATEST,
    SNAPSHOT_NEW,
    plaintext_keys,
    refuse_plaintext,
)
from reslab_lambda.stacks import default_stack_prefix, stack_name

DEFAULT_REGION = "us-east-2"


def _region(region: str | None) -> str:
    return (
        region
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or (DEFAULT_REGION)
    )


def _client_factory(local: bool, region: str, endpoint_url: str | None = None) -> Any:
    if not local and not endpoint_url:
        import boto3

        return lambda service: boto3.client(service, region_name=region)
    from reslab.localcloud import discover
    from reslab.localcloud.server import client_for

    endpoint = endpoint_url or discover()
    if endpoint is None:
        raise LocalCloudError("no running local cloud found: start one with `reslab local up`")
    return lambda service: client_for(endpoint, service, region)


def _stack_outputs(client: Any, stack: str) -> dict[str, str]:
    try:
        found = client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    except Exception:  # noqa: BLE001 - absent stack: the caller names what is missing
        return {}
    return {o["OutputKey"]: o["OutputValue"] for o in found[0].get("Outputs", [])} if found else {}


def _report_bucket(client: Any, install_name: str, stack_prefix: str) -> str | None:
    """The installer stack's report bucket (where scheduled and nested checks write), else the
    lab's Storage bucket."""
    return _stack_outputs(client, install_name).get("ReportBucketName") or _stack_outputs(
        client, stack_name("storage", stack_prefix)
    ).get("ReportBucketName")


def _install_workshop(sfn: Any, machine_arn: str) -> str | None:
    """The workshop tag of the install the restore machine belongs to: the run tags its snapshot
    and copy with it, and the install's roles create only what carries exactly that tag."""
    try:
        tags = sfn.list_tags_for_resource(resourceArn=machine_arn)["tags"]
    except Exception:  # noqa: BLE001 - untagged or unreadable: the event's default
        return None
    return next((str(t["value"]) for t in tags if t.get("key") == "workshop"), None)


INSTALL_NAME = typer.Option(
    "reslab", "--name", help="Installer stack whose report bucket is the default."
)
REPORT_BUCKET = typer.Option(
    None, help="Default: the installer stack's report bucket, else the Storage stack's."
)
STACK_PREFIX = typer.Option(default_stack_prefix(), help="Prefix of the lab's stacks.")


def _state_machine(client: Any, name: str | None) -> str:
    sfn = client("stepfunctions")
    machines = [
        m
        for page in sfn.get_paginator("list_state_machines").paginate()
        for m in page["stateMachines"]
    ]
    if name:
        for m in machines:
            if name in (m["name"], m["stateMachineArn"]):
                return str(m["stateMachineArn"])
        raise InvalidRestoreEvent(f"--state-machine: no state machine {name!r}")
    candidates = [
        m for m in machines if "restore" in m["name"].lower() or "backup" in m["name"].lower()
    ]
    if len(candidates) != 1:
        listed = ", ".join(m["name"] for m in candidates) or "none"
        raise InvalidRestoreEvent(
            f"--state-machine: cannot tell which state machine verifies backups ({listed}); name it"
        )
    return str(candidates[0]["stateMachineArn"])


def _expectations(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    text = path.read_text()
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise InvalidRestoreEvent(f"--expectations: {path} must hold a mapping")
    if plaintext_keys(data):
        refuse_plaintext({"expectations": data})
    from reslab.checks import InvalidExpectations, load_expectations

    try:
        load_expectations(data)
    except InvalidExpectations as exc:
        raise InvalidRestoreEvent(f"--expectations: {exc}") from None
    return data


def _wait(sfn: Any, arn: str, timeout: float) -> dict[str, Any]:
    end = time.monotonic() + timeout
    delay = 0.5
    while True:
        desc = sfn.describe_execution(executionArn=arn)
        if desc["status"] != "RUNNING":
            return dict(desc)
        if time.monotonic() > end:
            raise ExecutionError("ExecutionTimedOut", f"{arn} still running after {timeout:.0f}s")
        time.sleep(delay)
        delay = min(delay * 1.5, 10.0)


def _cause_message(cause: str) -> str:
    try:
        return str(json.loads(cause).get("errorMessage", cause))
    except (ValueError, AttributeError):
        return cause


def default_snapshot(local: bool) -> str:
    """``new`` on the local cloud (its "latest" is the automatic snapshot of the new, empty
    instance: checking it says nothing about the lab's data), ``latest`` on AWS."""
    return SNAPSHOT_NEW if local else SNAPSHOT_LATEST


def verify_backup(
    local: bool = typer.Option(False, "--local", help="Use the running local cloud."),
    endpoint_url: str | None = typer.Option(
        None, hidden=True, help="A local cloud's endpoint (default: discovered)."
    ),
    instance: str | None = typer.Option(None, help="Source DB instance (default: the lab's)."),
    snapshot: str | None = typer.Option(
        None,
        help="new | latest | <snapshot id> (default: latest on AWS; new on the local cloud, "
        "whose only automatic snapshot is the empty one taken when the instance was created).",
    ),
    expectations: Path | None = typer.Option(
        None, exists=True, dir_okay=False, help="Expectations file (YAML or JSON)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    region: str | None = typer.Option(None, help="Region (default: AWS_REGION or us-east-2)."),
    stack_prefix: str = STACK_PREFIX,
    report_bucket: str | None = REPORT_BUCKET,
    name: str = INSTALL_NAME,
    secret_id: str | None = typer.Option(None, help="Secrets Manager secret NAME/ARN."),
    ssm_parameter: str | None = typer.Option(None, help="SSM SecureString parameter NAME."),
    slack_webhook_parameter: str | None = typer.Option(
        None, help="SSM SecureString parameter NAME holding the Slack webhook URL."
    ),
    state_machine: str | None = typer.Option(None, help="Name or ARN of the restore machine."),
    timeout: float = typer.Option(3600, help="Give up waiting after this many seconds."),
) -> None:
    """Restore a snapshot into a temporary instance, check it, and print the verdict."""
    checks = _expectations(expectations)  # a bad file fails before anything is looked up
    reg = _region(region)
    client = _client_factory(local, reg, endpoint_url)
    database = _stack_outputs(client, stack_name("database", stack_prefix))
    event: dict[str, Any] = {
        "instance": instance or database.get("DBInstanceIdentifier"),
        "report_bucket": report_bucket or _report_bucket(client, name, stack_prefix),
        "region_name": reg,
        "snapshot": snapshot or default_snapshot(local or bool(endpoint_url)),
        "stack_prefix": stack_prefix,
    }
    for key, missing in (("instance", "--instance"), ("report_bucket", "--report-bucket")):
        if not event[key]:
            raise InvalidRestoreEvent(f"{missing}: not given and no lab stack output to use")
    optional = {
        "secret_id": secret_id,
        "ssm_parameter": ssm_parameter,
        "slack_webhook_parameter": slack_webhook_parameter,
        "expectations": checks,
    }
    event.update({k: v for k, v in optional.items() if v})
    if local or endpoint_url:
        event.update({"poll_seconds": 1, "poll_max_seconds": 4})
    sfn = client("stepfunctions")
    machine_arn = _state_machine(client, state_machine)
    workshop = _install_workshop(sfn, machine_arn)
    if workshop:
        event["workshop"] = workshop
    arn = sfn.start_execution(
        stateMachineArn=machine_arn,
        name=f"verify-{uuid.uuid4().hex[:12]}",
        input=json.dumps(event),
    )["executionArn"]
    desc = _wait(sfn, arn, timeout)
    output = json.loads(desc.get("output") or "{}")
    result = {
        "execution": arn,
        "status": desc["status"],
        "error": desc.get("error"),
        "message": _cause_message(str(desc.get("cause") or "")),
        "instance": event["instance"],
        "snapshot": (output.get("snapshot_info") or {}).get("id"),
        "report": (output.get("checks") or {}).get("report"),
    }
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    elif desc["status"] == "SUCCEEDED":
        typer.echo(
            f"PASS  {event['instance']}  snapshot {result['snapshot']}  report {result['report']}"
        )
    if desc["status"] != "SUCCEEDED":
        raise ExecutionError(str(desc.get("error") or desc["status"]), result["message"] or arn)


def reports(
    local: bool = typer.Option(False, "--local", help="Use the running local cloud."),
    endpoint_url: str | None = typer.Option(
        None, hidden=True, help="A local cloud's endpoint (default: discovered)."
    ),
    instance: str | None = typer.Option(None, help="Only this instance's reports."),
    region: str | None = typer.Option(None, help="Region (default: AWS_REGION or us-east-2)."),
    stack_prefix: str = STACK_PREFIX,
    report_bucket: str | None = REPORT_BUCKET,
    name: str = INSTALL_NAME,
    limit: int = typer.Option(20, help="Newest N reports."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    download: str | None = typer.Option(
        None,
        "--download",
        metavar="ID",
        help="Write this report's HTML to --out: latest, a timestamp, INSTANCE/TIMESTAMP or "
        "the s3:// URI the list shows (the report bucket is private).",
    ),
    open_report: str | None = typer.Option(
        None, "--open", metavar="ID", help="As --download, then open it in a browser."
    ),
    out: Path = typer.Option(
        Path(".reslab/reports"), "--out", help="Where --download/--open write the HTML."
    ),
) -> None:
    """List the verification history (newest first) with verdicts, from the report bucket;
    or fetch one report's HTML (--download/--open ID)."""
    client = _client_factory(local, _region(region), endpoint_url)
    bucket = report_bucket or _report_bucket(client, name, stack_prefix)
    if not bucket:
        raise InvalidRestoreEvent(
            "--report-bucket: not given, and neither the installer stack nor the Storage stack "
            "has a ReportBucketName output"
        )
    wanted = open_report or download
    if wanted:
        path = download_report(client("s3"), bucket, instance, wanted, out)
        typer.echo(str(path))
        if open_report:
            import webbrowser

            if not webbrowser.open(path.resolve().as_uri()):
                typer.echo(f"no browser to open it: open {path} yourself", err=True)
        return
    rows = list_reports(client("s3"), bucket, instance, limit)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no reports")
    for row in rows:
        typer.echo(
            f"{row['timestamp']}  {row['instance']:<30}  {row['verdict'].upper():<5}  "
            f"{row['failed']} failed  s3://{bucket}/{row['key']}"
        )


def download_report(s3: Any, bucket: str, instance: str | None, wanted: str, out: Path) -> Path:
    """Write the HTML report ``wanted`` names into ``out``; return the file written."""
    from reslab.reports.keys import REPORT_FILES, list_run_objects

    runs = list_run_objects(s3, bucket, instance, REPORT_FILES["html"])
    if not runs:
        raise ReportNotFound(
            f"s3://{bucket} holds no HTML report" + (f" of {instance}" if instance else "")
        )
    text = wanted.removeprefix(f"s3://{bucket}/")
    chosen = runs[0] if wanted == "latest" else None
    for run in runs if chosen is None else ():
        prefix = f"reports/{run.instance}/{run.timestamp}/"
        if text in (run.timestamp, f"{run.instance}/{run.timestamp}") or text.startswith(prefix):
            chosen = run
            break
    if chosen is None:
        newest = f"{runs[0].instance}/{runs[0].timestamp}"
        raise ReportNotFound(
            f"{wanted!r}: no such report in s3://{bucket} (newest: {newest}; "
            "`reslab reports` lists them)"
        )
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{chosen.instance}-{chosen.timestamp}.html"
    path.write_bytes(s3.get_object(Bucket=bucket, Key=chosen.key)["Body"].read())
    return path


def list_reports(s3: Any, bucket: str, instance: str | None, limit: int) -> list[dict[str, Any]]:
    from reslab.reports.keys import REPORT_FILES, list_run_objects

    rows = []
    for run in list_run_objects(s3, bucket, instance, REPORT_FILES["json"])[:limit]:
        data = json.loads(s3.get_object(Bucket=bucket, Key=run.key)["Body"].read())
        rows.append(
            {
                "instance": run.instance,
                "timestamp": run.timestamp,
                "verdict": str(data.get("verdict", "?")),
                "failed": int((data.get("summary") or {}).get("failed", 0)),
                "key": run.key,
            }
        )
    return rows


def register(app: typer.Typer) -> None:
    app.command("verify-backup")(verify_backup)
    app.command("reports")(reports)


__all__ = ["ReslabError", "register"]
