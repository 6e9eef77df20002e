"""Patches that close gaps between moto 5.2.5 and AWS (each listed in docs/local-cloud.md)."""

from __future__ import annotations

import importlib

#: Modules exposing ``install() -> None`` (idempotent).
PATCH_MODULES: tuple[str, ...] = (
    "reslab.localcloud.compat.stepfunctions",
    "reslab.localcloud.compat.rds",
    "reslab.localcloud.compat.rds_snapshots",
    "reslab.localcloud.compat.cfn_resources",
    "reslab.localcloud.compat.cloudformation",
    "reslab.localcloud.compat.cfn_deletes",
    "reslab.localcloud.compat.s3_policy",
    "reslab.localcloud.compat.cfn_property_shapes",
    "reslab.localcloud.compat.cfn_updates",
    "reslab.localcloud.compat.cfn_template_url",
    "reslab.localcloud.webtier",
)


def install_all() -> None:
    for name in PATCH_MODULES:
        importlib.import_module(name).install()
