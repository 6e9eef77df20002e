"""What CloudFormation's service role needs for each resource type the lab's templates create:
the ``handlers.create/update/delete.permissions`` of the CloudFormation resource provider schemas
(shipped by cfn-lint), kept as data in ``reslab/iam/data/cfn_permissions.json`` so that the local
cloud reads them without cfn-lint installed.

    python -m reslab.iam.cfn_permissions      # regenerate after a template gains a resource type

``tests/iam/test_cfn_permissions.py`` fails when the file is stale.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from reslab.templates import load_template

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).with_name("data") / "cfn_permissions.json"
TEMPLATES = "cloudformation/*.yaml"
HANDLERS = ("create", "update", "delete")
SCHEMA_REGION = "us-east-1"


def resource_types(templates: Iterable[Path]) -> list[str]:
    """Every ``Resources.*.Type`` of the templates, sorted."""
    found: set[str] = set()
    for path in templates:
        template = load_template(path)
        for resource in (template.get("Resources") or {}).values():
            found.add(str(resource["Type"]))
    return sorted(found)


def _schemas_dir() -> Path:
    import cfnlint

    return Path(cfnlint.__file__).parent / "data" / "schemas"


#: Legacy resource types whose provider schema lists no handlers: the API calls CloudFormation
#: makes for them, from the service's API reference (kept as small as the type needs).
LEGACY_HANDLERS: dict[str, dict[str, list[str]]] = {
    "AWS::DMS::ReplicationInstance": {
        "create": [
            "dms:AddTagsToResource",
            "dms:CreateReplicationInstance",
            "dms:DescribeReplicationInstances",
            "dms:ListTagsForResource",
        ],
        "update": [
            "dms:AddTagsToResource",
            "dms:DescribeReplicationInstances",
            "dms:ModifyReplicationInstance",
            "dms:RemoveTagsFromResource",
        ],
        "delete": ["dms:DeleteReplicationInstance", "dms:DescribeReplicationInstances"],
    },
}


def provider_permissions(resource_type: str) -> dict[str, list[str]]:
    """``{"create": [...], "update": [...], "delete": [...]}`` of one provider schema (or of
    :data:`LEGACY_HANDLERS` for a type whose schema has none)."""
    if resource_type in LEGACY_HANDLERS:
        return {h: sorted(LEGACY_HANDLERS[resource_type].get(h, [])) for h in HANDLERS}
    schemas = _schemas_dir()
    index = json.loads((schemas / "providers" / f"{SCHEMA_REGION}.json").read_text())
    name = index.get(resource_type)
    if name is None:
        raise KeyError(f"no resource provider schema for {resource_type}")
    schema = json.loads((schemas / "resources" / f"{name}.json").read_text())
    handlers = schema.get("handlers", {})
    return {h: sorted(set(handlers.get(h, {}).get("permissions", []))) for h in HANDLERS}


def generate(root: Path = ROOT) -> dict[str, Any]:
    types = resource_types(sorted(root.glob(TEMPLATES)))
    return {
        "source": f"cfn-lint resource provider schemas ({SCHEMA_REGION})",
        "templates": TEMPLATES,
        "resource_types": {t: provider_permissions(t) for t in types},
    }


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def load() -> dict[str, dict[str, list[str]]]:
    """resource type -> handler -> IAM actions (from the generated file)."""
    return dict(json.loads(DATA.read_text())["resource_types"])


def main() -> int:
    DATA.parent.mkdir(exist_ok=True)
    DATA.write_text(render(generate()))
    print(f"wrote {DATA.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
