"""Patches that close gaps between moto 5.2.5 and AWS, installed from one ordered list.

Each gap is a numbered row of the table in docs/local-cloud.md ("moto gaps and workarounds");
:data:`PATCHES` says which module closes which rows, and ``tests/localcloud/test_patch_table.py``
keeps the two in step. A new gap: a row in the table, then an entry here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

_CFN = "reslab.localcloud.compat.cloudformation."


@dataclass(frozen=True)
class Patch:
    #: The rows of the gap table this module closes ("10b": a row numbered 10b).
    gaps: tuple[str, ...]
    #: A module exposing an idempotent ``install() -> None``.
    module: str


#: Installed in this order by :func:`install_all` (``LocalCloud.start()``), before the server
#: serves its first request. Each ``install()`` wraps the moto function it finds, so where two
#: patches wrap the same one, the later runs outside the earlier. That happens three times:
#:
#: * ``compat.rds`` then ``compat.rds_snapshots`` both wrap ``RDSBackend.create_db_instance``:
#:   the snapshot layer's "inside CreateDBInstance" mark (moto's automated snapshot is recorded
#:   empty) spans the whole call, provisioning of the real database included;
#: * ``missing_types`` then ``scheduler_types`` both add to moto's CloudFormation type map
#:   (``resource_model.register``): one map, moto's own models win over ours either way;
#: * ``get_azs`` then ``novalue_lists`` both wrap ``parsing.clean_json``: the zones ``Fn::GetAZs``
#:   answers are never None, so dropping ``AWS::NoValue`` items outside it changes nothing there.
#:
#: ``webtier`` subscribes to ``stack_lifecycle``'s AFTER_CREATE/AFTER_UPDATE/BEFORE_DELETE
#: hooks, so it comes after it. Nothing else shares a patched function: new patches go at the
#: end unless they wrap one of these.
PATCHES: tuple[Patch, ...] = (
    Patch(("1", "43", "63"), "reslab.localcloud.lambda_exec"),
    Patch(("4", "5", "6", "29", "62", "64", "75"), "reslab.localcloud.compat.stepfunctions"),
    Patch(
        ("8", "9", "10", "10b", "10c", "17b", "23", "24", "43", "46", "65"),
        "reslab.localcloud.compat.rds",
    ),
    Patch(("32", "67"), "reslab.localcloud.compat.rds_snapshots"),
    Patch(("15", "16", "66"), _CFN + "missing_types"),
    Patch(("26",), _CFN + "scheduler_types"),
    Patch(("11", "12", "19"), _CFN + "stack_lifecycle"),
    Patch(("13",), _CFN + "get_azs"),
    Patch(("69",), _CFN + "novalue_lists"),
    Patch(("17",), _CFN + "resource_deleters"),
    Patch(("22",), "reslab.localcloud.compat.s3_policy"),
    Patch(("14", "27", "28"), _CFN + "property_shapes"),
    Patch(("29", "30", "30b"), _CFN + "stack_updates"),
    Patch(("31",), _CFN + "template_url"),
    Patch(("33", "34", "35", "36", "37", "57"), "reslab.localcloud.compat.dms"),
    Patch(("38",), _CFN + "dynamic_refs"),
    Patch(("39",), _CFN + "conditional_exports"),
    Patch(("18", "53", "70"), "reslab.localcloud.webtier"),
    Patch(("25",), "reslab.localcloud.serialise"),
    Patch(("11b",), _CFN + "parameter_constraints"),
    Patch(("13b", "13c"), _CFN + "condition_tag"),
    Patch(("56",), "reslab.localcloud.compat.iam_managed"),
    Patch(("54", "55"), "reslab.localcloud.compat.instances"),
    Patch(("40",), "reslab.localcloud.compat.iam_enforce"),
    Patch(("41", "73"), "reslab.localcloud.compat.iam_sessions"),
    Patch(("59",), _CFN + "stack_events"),
    Patch(("60",), "reslab.localcloud.compat.events_lambda"),
    Patch(("61",), "reslab.localcloud.compat.task_failure_cause"),
    Patch(("43", "44", "45", "46", "47", "48", "49", "50"), "reslab.localcloud.compat.network"),
    Patch(("68",), "reslab.localcloud.compat.ec2_filters"),
    Patch(("70",), "reslab.localcloud.compat.scaling_activities"),
    # after stack_lifecycle (its create/delete run inside this one's acting principal),
    # resource_deleters and iam_sessions (the role's session)
    Patch(("71",), _CFN + "service_role"),
    Patch(("72",), _CFN + "role_policies"),
)


def install_all() -> None:
    for patch in PATCHES:
        importlib.import_module(patch.module).install()
