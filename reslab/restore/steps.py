"""The steps of the restore machine, one function per Lambda (``lambdas/backup_<step>``).

Every step reads the execution state (the event plus earlier steps' results), returns a small
JSON-able dict (its ``ResultPath`` slot) and raises a named error (:mod:`reslab.restore.errors`).
State slots: ``run`` (prepare), ``snapshot_info``, ``restore``, ``poll``, ``checks``, ``error``.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from reslab.restore import aws, credentials, event, reportstore
from reslab.restore.errors import (
    CheckQueryFailed,
    ChecksFailed,
    CleanupFailed,
    InvalidRestoreEvent,
    RestoreFailed,
    RestoreTimeout,
    SnapshotFailed,
    SnapshotNotFound,
    SnapshotPredatesData,
)
from reslab_lambda.aws import error_code
from reslab_lambda.stacks import stack_name

LOG = logging.getLogger("reslab.restore")
TEMP_TAG = "reslab:temporary"
SOURCE_TAG = "reslab:source"
#: Instance states after which the restore can no longer succeed.
FAILED_STATES = frozenset(
    {
        "failed",
        "incompatible-restore",
        "incompatible-parameters",
        "incompatible-network",
        "restore-error",
        "storage-full",
        "inaccessible-encryption-credentials",
        "deleting",
    }
)
_ENGINES = {
    "postgres": "postgres",
    "aurora-postgresql": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "aurora-mysql": "mysql",
}
TEST_HOOK_ENV = "RESLAB_ALLOW_TEST_HOOKS"


def _now() -> datetime:
    return datetime.now(UTC)


def _temp_name(instance: str, stamp: str) -> str:
    base = re.sub(r"[^a-z0-9-]", "-", instance.lower())[:28].strip("-") or "db"
    name = f"verify-{base}-{stamp.lower()}-{secrets.token_hex(2)}"
    return re.sub(r"-{2,}", "-", name)[:63].strip("-")


def _run(state: dict[str, Any]) -> dict[str, Any]:
    run = state.get("run")
    if not isinstance(run, dict):
        raise InvalidRestoreEvent("run: missing (the Prepare step did not run)")
    return run


# -- 1. prepare: validate, resolve the secret's NAME -------------------------------------------
#: (event key, stack key, output) filled from the lab's stacks when the event omits them.
FROM_STACKS = (
    ("instance", "database", "DBInstanceIdentifier"),
    ("report_bucket", "storage", "ReportBucketName"),
)


def _from_stacks(ev: dict[str, Any]) -> None:
    """Fill ``instance`` / ``report_bucket`` from the outputs of the lab's stacks."""
    cfn = aws.client("cloudformation", ev)
    for key, stack_key, output in FROM_STACKS:
        if ev.get(key):
            continue
        stack = stack_name(stack_key, ev["stack_prefix"])
        try:
            found = cfn.describe_stacks(StackName=stack)["Stacks"]
        except Exception as exc:
            raise InvalidRestoreEvent(
                f"{key}: not given and stack {stack} is unreadable: {_brief(exc)}"
            ) from None
        outputs = {o["OutputKey"]: o["OutputValue"] for o in found[0].get("Outputs", [])}
        if not outputs.get(output):
            raise InvalidRestoreEvent(f"{key}: not given and stack {stack} has no {output}")
        ev[key] = outputs[output]


#: Defaults the installer stack gives the Prepare Lambda: its own report bucket (evidence
#: outlives lab resets) and its Slack webhook parameter; the event's values win.
INSTALL_DEFAULTS = (
    ("report_bucket", "RESLAB_REPORT_BUCKET"),
    ("slack_webhook_parameter", "RESLAB_SLACK_WEBHOOK_PARAMETER"),
)


def prepare(raw: dict[str, Any]) -> dict[str, Any]:
    ev = event.validate(raw)
    for key, variable in INSTALL_DEFAULTS:
        if not ev.get(key) and os.environ.get(variable):
            ev[key] = os.environ[variable]
    _from_stacks(ev)
    rds = aws.client("rds", ev)
    source = aws.describe_instance(rds, ev["instance"])
    if source is None:
        raise InvalidRestoreEvent(
            f"instance: no DB instance {ev['instance']!r} in {aws.region(ev)}"
        )
    if ev.get("expectations"):
        from reslab.checks import InvalidExpectations, load_expectations

        try:
            load_expectations(ev["expectations"])
        except InvalidExpectations as exc:
            raise InvalidRestoreEvent(f"expectations: {exc}") from None
    ref = credentials.resolve(ev, source)
    credentials.ensure_exists(ref, ev)
    now = _now()
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    engine = _ENGINES.get(str(source.get("Engine", "")).lower())
    if engine is None:
        raise InvalidRestoreEvent(f"instance: engine {source.get('Engine')!r} is not supported")
    subnet_group = ev.get("db_subnet_group") or (source.get("DBSubnetGroup") or {}).get(
        "DBSubnetGroupName"
    )
    groups = ev.get("security_group_ids") or [
        g["VpcSecurityGroupId"] for g in source.get("VpcSecurityGroups", [])
    ]
    return {
        "instance": ev["instance"],
        "region": aws.region(ev),
        "engine": engine,
        "engine_name": source.get("Engine"),
        "database": ev.get("database") or source.get("DBName") or "",
        "master_username": source.get("MasterUsername") or "",
        "secret": ref.as_state(),
        # A restored copy keeps the snapshot's password, which a rotated managed secret no longer
        # holds: by default ask RDS for a new managed secret on the copy and use that one.
        "restore_credentials": ev.get("restore_credentials")
        or ("source" if ev.get("secret_id") or ev.get("ssm_parameter") else "managed"),
        "snapshot": ev["snapshot"],
        "keep_snapshot": ev["keep_snapshot"],
        "temp_instance": _temp_name(ev["instance"], stamp),
        "timestamp": stamp,
        "started_at": now.isoformat(),
        "deadline": int(now.timestamp()) + ev["deadline_seconds"],
        "poll_seconds": ev["poll_seconds"],
        "poll_max_seconds": ev["poll_max_seconds"],
        "subnet_group": subnet_group,
        "security_group_ids": groups,
        "instance_class": ev.get("instance_class") or source.get("DBInstanceClass"),
        "workshop": ev["workshop"],
        "report_bucket": ev["report_bucket"],
        "expectations": ev.get("expectations") or {},
        "test_hook_sql": ev.get("test_hook_sql"),
        "slack_webhook_parameter": ev.get("slack_webhook_parameter"),
    }


def _tags(run: dict[str, Any], temporary: bool = True) -> list[dict[str, str]]:
    tags = [
        {"Key": "workshop", "Value": run["workshop"]},
        {"Key": SOURCE_TAG, "Value": run["instance"]},
    ]
    if temporary:
        tags.append({"Key": TEMP_TAG, "Value": "true"})
    return tags


def _source_target(run: dict[str, Any], rds: Any) -> Any:
    from reslab.restore.target import instance_target

    desc = aws.describe_instance(rds, run["instance"])
    if desc is None:
        raise InvalidRestoreEvent(f"instance: {run['instance']!r} disappeared")
    creds = credentials.fetch(
        credentials.SecretRef.from_state(run["secret"]), run, run["master_username"]
    )
    return instance_target(desc, run, creds)


# -- 2. pick (or take) the snapshot ------------------------------------------------------------
def _snapshot_info(snap: dict[str, Any], created_by_run: bool) -> dict[str, Any]:
    created = snap.get("SnapshotCreateTime")
    return {
        "id": snap["DBSnapshotIdentifier"],
        "arn": snap.get("DBSnapshotArn", ""),
        "type": snap.get("SnapshotType", ""),
        "status": snap.get("Status", ""),
        "created": created.isoformat() if hasattr(created, "isoformat") else str(created or ""),
        "created_by_run": created_by_run,
    }


def pick_snapshot(state: dict[str, Any]) -> dict[str, Any]:
    run = _run(state)
    rds = aws.client("rds", run)
    mode = run["snapshot"]
    if mode == event.SNAPSHOT_NEW:
        from reslab.checks import fingerprint

        target = _source_target(run, rds)
        try:
            source_fp = fingerprint(target.url()).to_dict()
        except Exception as exc:
            raise CheckQueryFailed(f"fingerprinting the source failed: {_brief(exc)}") from None
        snap_id = f"{run['temp_instance']}-src"
        try:
            snap = rds.create_db_snapshot(
                DBInstanceIdentifier=run["instance"],
                DBSnapshotIdentifier=snap_id,
                Tags=_tags(run, temporary=not run["keep_snapshot"]),
            )["DBSnapshot"]
        except Exception as exc:
            raise SnapshotFailed(f"create_db_snapshot({snap_id}) failed: {_brief(exc)}") from None
        return {**_snapshot_info(snap, True), "source_fingerprint": source_fp}
    if mode == event.SNAPSHOT_LATEST:
        snaps = [
            s
            for page in rds.get_paginator("describe_db_snapshots").paginate(
                DBInstanceIdentifier=run["instance"]
            )
            for s in page["DBSnapshots"]
            if s.get("Status") == "available" and s.get("SnapshotType") in ("automated", "manual")
        ]
        if not snaps:
            raise SnapshotNotFound(f"instance {run['instance']} has no available snapshot")
        latest = max(
            snaps, key=lambda s: (s.get("SnapshotCreateTime") or _now(), s["DBSnapshotIdentifier"])
        )
        return _snapshot_info(latest, False)
    try:
        found = rds.describe_db_snapshots(DBSnapshotIdentifier=mode)["DBSnapshots"]
    except Exception as exc:
        if error_code(exc) in ("DBSnapshotNotFound", "DBSnapshotNotFoundFault"):
            found = []
        else:
            raise
    if not found:
        raise SnapshotNotFound(f"no snapshot {mode!r}")
    return _snapshot_info(found[0], False)


# -- 3. restore into a temporary instance ------------------------------------------------------
def start_restore(state: dict[str, Any]) -> dict[str, Any]:
    run = _run(state)
    snap = state["snapshot_info"]
    kwargs: dict[str, Any] = {
        "DBInstanceIdentifier": run["temp_instance"],
        "DBSnapshotIdentifier": snap["id"],
        "PubliclyAccessible": False,
        "MultiAZ": False,
        "DeletionProtection": False,
        "Tags": _tags(run),
    }
    if run.get("subnet_group"):
        kwargs["DBSubnetGroupName"] = run["subnet_group"]
    if run.get("security_group_ids"):
        kwargs["VpcSecurityGroupIds"] = run["security_group_ids"]
    if run.get("instance_class"):
        kwargs["DBInstanceClass"] = run["instance_class"]
    if run.get("restore_credentials") == "managed":
        kwargs["ManageMasterUserPassword"] = True
    try:
        aws.client("rds", run).restore_db_instance_from_db_snapshot(**kwargs)
    except Exception as exc:
        raise RestoreFailed(
            f"restoring {snap['id']} into {run['temp_instance']} was refused: {_brief(exc)}"
        ) from None
    return {"instance": run["temp_instance"], "wait_seconds": run["poll_seconds"]}


# -- 4./5. poll status, read the endpoint ------------------------------------------------------
def _next_wait(run: dict[str, Any], previous: int) -> int:
    remaining = max(1, run["deadline"] - int(time.time()) + 1)
    return max(1, min(previous * 2, run["poll_max_seconds"], remaining))


def poll(request: dict[str, Any]) -> dict[str, Any]:
    """``{"what": "snapshot" | "instance", "state": {...}}`` -> status, ready, next wait."""
    state = request["state"]
    run = _run(state)
    what = request.get("what", "instance")
    previous = max(1, int((state.get("poll") or {}).get("wait_seconds") or run["poll_seconds"]))
    rds = aws.client("rds", run)
    if what == "snapshot":
        snap_id = state["snapshot_info"]["id"]
        try:
            snaps = rds.describe_db_snapshots(DBSnapshotIdentifier=snap_id)["DBSnapshots"]
        except Exception as exc:
            if error_code(exc) not in ("DBSnapshotNotFound", "DBSnapshotNotFoundFault"):
                raise
            snaps = []
        status = snaps[0].get("Status", "") if snaps else "missing"
        if status in ("failed", "missing", "error"):
            raise SnapshotFailed(f"snapshot {snap_id} is {status}")
        ready, endpoint = status == "available", None
    else:
        desc = aws.describe_instance(rds, run["temp_instance"])
        if desc is None:
            raise RestoreFailed(f"the temporary instance {run['temp_instance']} vanished")
        status = str(desc.get("DBInstanceStatus", ""))
        if status in FAILED_STATES:
            raise RestoreFailed(f"the temporary instance {run['temp_instance']} is {status}")
        ready = status == "available" and bool((desc.get("Endpoint") or {}).get("Address"))
        endpoint = (
            {
                "address": desc["Endpoint"]["Address"],
                "port": int(desc["Endpoint"]["Port"]),
                "database": desc.get("DBName") or run["database"],
                "secret_arn": (desc.get("MasterUserSecret") or {}).get("SecretArn", ""),
            }
            if ready
            else None
        )
    if not ready and time.time() > run["deadline"]:
        raise RestoreTimeout(
            f"the {what} was still {status!r} at the deadline ({run['deadline']}, "
            f"deadline_seconds after the start)"
        )
    result: dict[str, Any] = {
        "what": what,
        "status": status,
        "ready": ready,
        "wait_seconds": _next_wait(run, previous),
    }
    if endpoint:
        result["endpoint"] = endpoint
    return result


# -- 6./7. checks and report -------------------------------------------------------------------
def _hook_statements(sql: Any) -> list[str]:
    if not sql:
        return []
    if os.environ.get(TEST_HOOK_ENV) != "1":
        LOG.warning("test_hook_sql ignored: %s is not 1 on this function", TEST_HOOK_ENV)
        return []
    return [sql] if isinstance(sql, str) else [str(s) for s in sql]


def run_checks(state: dict[str, Any]) -> dict[str, Any]:
    from reslab.checks import fingerprint
    from reslab.checks import run_checks as check_all
    from reslab.checks.model import Fingerprint
    from reslab.dburl import connect
    from reslab.restore.target import endpoint_target

    run = _run(state)
    snap = state.get("snapshot_info") or {}
    endpoint = state["poll"]["endpoint"]
    ref = credentials.SecretRef.from_state(run["secret"])
    if run.get("restore_credentials") == "managed" and endpoint.get("secret_arn"):
        ref = credentials.SecretRef("secretsmanager", endpoint["secret_arn"])
    creds = credentials.fetch(ref, run, run["master_username"])
    target = endpoint_target(endpoint, run, creds)
    statements = _hook_statements(run.get("test_hook_sql"))
    try:
        if statements:
            with connect(target) as conn:
                for sql in statements:
                    if target.engine == "mysql":
                        with conn.cursor() as cur:
                            cur.execute(sql)
                    else:
                        conn.execute(sql)
    except Exception as exc:
        raise CheckQueryFailed(f"test_hook_sql failed on the restored DB: {_brief(exc)}") from None
    store = reportstore.ReportStore(run)
    previous = store.previous_fingerprint()
    source = snap.get("source_fingerprint")
    try:
        report = check_all(
            Fingerprint.from_dict(source) if source else None,
            target.url(),
            run.get("expectations") or None,
            snapshot_time=snap.get("created") or None,
            previous=previous,
            snapshot_id=snap.get("id"),
            source_instance=run["instance"],
        )
        restored_fp = report.target_fingerprint or fingerprint(target.url())
    except Exception as exc:
        raise CheckQueryFailed(f"the checks could not run: {_brief(exc)}") from None
    uri = store.write(report, restored_fp, snap)
    failures = [c.name for c in report.failures]
    baseline = Fingerprint.from_dict(source) if source else previous
    if failures and (empty := predates_data(restored_fp, baseline)):
        raise SnapshotPredatesData(f"snapshot {snap.get('id')} {empty}; report: {uri}")
    if failures:
        raise ChecksFailed(
            f"{len(failures)} check(s) failed: {', '.join(failures[:10])}; report: {uri}"
        )
    return {
        "verdict": report.verdict,
        "report": uri,
        "checks": len(report.checks),
        "skipped": [c.name for c in report.skipped],
    }


def predates_data(restored: Any, baseline: Any) -> str | None:
    """Why the restored copy is a snapshot from before the data was loaded (``None`` when it is
    not): it holds no row at all while the source (fresh fingerprint, else the last verified
    one) had some. The one-line reason names the fix."""
    if baseline is None:
        return None
    source_rows = {name: t.rows or 0 for name, t in baseline.tables.items()}
    if sum(source_rows.values()) == 0 or any(t.rows for t in restored.tables.values()):
        return None
    table, rows = max(source_rows.items(), key=lambda item: item[1])
    return (
        f"holds no data ({len(restored.tables)} table(s), 0 rows) while the source had {rows} "
        f"rows in {table} (fingerprint of {baseline.taken_at}): a snapshot from before the "
        "data was loaded (such as the automatic one of a new instance) or of an emptied "
        "database; verify a fresh snapshot with --snapshot new"
    )


# -- 8. cleanup and notification ---------------------------------------------------------------
def cleanup(state: dict[str, Any]) -> dict[str, Any]:
    run = state.get("run")
    if not isinstance(run, dict):
        return {"failed": False, "deleted": [], "note": "nothing was created"}
    rds = aws.client("rds", run)
    deleted: list[str] = []
    try:
        if aws.describe_instance(rds, run["temp_instance"]) is not None:
            rds.delete_db_instance(
                DBInstanceIdentifier=run["temp_instance"],
                SkipFinalSnapshot=True,
                DeleteAutomatedBackups=True,
            )
            deleted.append(run["temp_instance"])
        snap = state.get("snapshot_info") or {}
        if snap.get("created_by_run") and not run.get("keep_snapshot"):
            try:
                rds.delete_db_snapshot(DBSnapshotIdentifier=snap["id"])
                deleted.append(snap["id"])
            except Exception as exc:
                if error_code(exc) not in ("DBSnapshotNotFound", "DBSnapshotNotFoundFault"):
                    raise
    except Exception as exc:
        raise CleanupFailed(
            f"deleting {run['temp_instance']} failed: {_brief(exc)} -- delete it by hand "
            f"(tag {TEMP_TAG}=true)"
        ) from None
    return {"failed": False, "deleted": deleted}


def notify(state: dict[str, Any]) -> dict[str, Any]:
    from reslab.restore import slack_notice

    return slack_notice.notify(state)


def _brief(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:400]
