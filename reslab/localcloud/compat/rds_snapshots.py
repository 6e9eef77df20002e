"""Data-faithful RDS snapshots: moto 5.2.5's snapshot calls, backed by ``dbsnapshots``.

moto's ``CreateDBSnapshot`` only records metadata and ``RestoreDBInstanceFromDBSnapshot`` creates an
instance that :mod:`reslab.localcloud.dbbacking` backs with a fresh, EMPTY database. Here
creating a snapshot copies the source's data (``dbsnapshots.SnapshotStore.capture``), copying one
shares the copy, deleting one deletes the copy, and restoring loads it into the new instance.

The automated snapshot moto takes inside ``CreateDBInstance`` is recorded as EMPTY (the instance has
no data yet), so locally ``"snapshot": "latest"`` finds real data only after a manual snapshot;
use ``"snapshot": "new"`` or create a manual snapshot first (docs/backup-verification.md).

Test faults (in-process, via :data:`faults`): refuse restores, or hold restored instances in a
status (``creating``) so that they never become available.
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass, field
from typing import Any

from reslab.dburl import DbTarget
from reslab.localcloud import dbbacking
from reslab.localcloud.compat.rds import store_credentials
from reslab.localcloud.context import cloud_context
from reslab.localcloud.dbsnapshots import SnapshotStore, store

_installed = False
_local = threading.local()


# -- faults (tests) ---------------------------------------------------------------------------
@dataclass
class RestoreFaults:
    """Patterns (fnmatch on the NEW instance id) that make restores fail or never finish."""

    refuse: dict[str, str] = field(default_factory=dict)
    hold: dict[str, str] = field(default_factory=dict)

    def refuse_restore(self, pattern: str, reason: str = "Injected: restore refused") -> None:
        self.refuse[pattern] = reason

    def hold_status(self, pattern: str, status: str = "creating") -> None:
        self.hold[pattern] = status

    def clear(self) -> None:
        self.refuse.clear()
        self.hold.clear()

    @staticmethod
    def _match(table: dict[str, str], name: str) -> str | None:
        return next((v for p, v in table.items() if fnmatch.fnmatchcase(name, p)), None)


faults = RestoreFaults()


# -- moto patches -----------------------------------------------------------------------------
def _patch(backend_cls: Any) -> None:
    original_create_instance = backend_cls.create_db_instance
    original_create = backend_cls.create_db_snapshot
    original_copy = backend_cls.copy_db_snapshot
    original_delete = backend_cls.delete_db_snapshot
    original_restore = backend_cls.restore_db_instance_from_db_snapshot

    def create_db_instance(self: Any, db_kwargs: dict[str, Any]) -> Any:
        depth = getattr(_local, "creating", 0)
        _local.creating = depth + 1
        try:
            return original_create_instance(self, db_kwargs)
        finally:
            _local.creating = depth

    def create_db_snapshot(
        self: Any, db_instance_identifier: str, db_snapshot_identifier: str, *a: Any, **kw: Any
    ) -> Any:
        snapshot = original_create(self, db_instance_identifier, db_snapshot_identifier, *a, **kw)
        if cloud_context.state_dir is None:
            return snapshot
        key = SnapshotStore.key(self.region_name, db_snapshot_identifier)
        source = dbbacking.target_for(db_instance_identifier)
        try:
            if getattr(_local, "creating", 0) or source is None:
                store().record_empty(key, source)  # moto's snapshot inside CreateDBInstance
            else:
                store().capture(key, source)
        except Exception:
            original_delete(self, db_snapshot_identifier)
            raise
        return snapshot

    def copy_db_snapshot(
        self: Any,
        source_db_snapshot_identifier: str,
        target_db_snapshot_identifier: str,
        *a: Any,
        **kw: Any,
    ) -> Any:
        result = original_copy(
            self, source_db_snapshot_identifier, target_db_snapshot_identifier, *a, **kw
        )
        if cloud_context.state_dir is not None:
            source_id = source_db_snapshot_identifier.rsplit(":", 1)[-1]
            store().alias(
                SnapshotStore.key(self.region_name, source_id),
                SnapshotStore.key(self.region_name, target_db_snapshot_identifier),
            )
        return result

    def delete_db_snapshot(self: Any, db_snapshot_identifier: str) -> Any:
        result = original_delete(self, db_snapshot_identifier)
        if cloud_context.state_dir is not None:
            store().forget(SnapshotStore.key(self.region_name, db_snapshot_identifier))
        return result

    def restore_db_instance_from_db_snapshot(
        self: Any, from_snapshot_id: str, overrides: dict[str, Any]
    ) -> Any:
        new_id = str(overrides.get("db_instance_identifier"))
        reason = RestoreFaults._match(faults.refuse, new_id)
        if reason:
            from moto.rds.exceptions import RDSClientError

            raise RDSClientError("InsufficientDBInstanceCapacity", reason)
        instance = original_restore(self, from_snapshot_id, overrides)
        if cloud_context.state_dir is None:
            return instance
        snapshot_id = (
            from_snapshot_id.rsplit(":", 1)[-1]
            if from_snapshot_id.startswith("arn:")
            else from_snapshot_id
        )
        target = dbbacking.target_for(new_id)
        if target is None:
            target = dbbacking.provision_instance(new_id, instance.engine)
        key = SnapshotStore.key(self.region_name, snapshot_id)
        try:
            store().restore(key, target)
        except Exception:
            instance.status = "failed"
            raise
        capture = store().get(key)
        if capture is not None and capture.owner is not None:
            _share_master_secret(instance, capture.owner)
        held = RestoreFaults._match(faults.hold, new_id)
        if held:
            instance.status = held
        return instance

    backend_cls.create_db_instance = create_db_instance
    backend_cls.create_db_snapshot = create_db_snapshot
    backend_cls.copy_db_snapshot = copy_db_snapshot
    backend_cls.delete_db_snapshot = delete_db_snapshot
    backend_cls.restore_db_instance_from_db_snapshot = restore_db_instance_from_db_snapshot


def _share_master_secret(instance: Any, owner: DbTarget) -> None:
    """A copy restored with ManageMasterUserPassword gets its own secret: locally it holds the
    snapshot's master login (the owner of the restored data; on a shared server a login cannot
    have a second password) at the copy's endpoint."""
    current = dbbacking.target_for(instance.db_instance_identifier)
    if not getattr(instance, "manage_master_user_password", False) or current is None:
        return
    store_credentials(instance, current, login=owner)


def install() -> None:
    """Patch moto's RDS backend (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.rds.models import RDSBackend

    _patch(RDSBackend)
    _installed = True
