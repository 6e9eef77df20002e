"""Export the faults as AWS Fault Injection Service (FIS) experiment templates, validated.

:func:`export` walks the fault table (:data:`reslab.chaos.faults.FAULTS`): one
``fis-<fault>.json`` per fault, built by the fault's builder in :mod:`reslab.chaos.fis_templates`,
plus the SSM Automation document the S3 one runs.

Templates are validated against botocore's service model (``validate_parameters`` on the
``CreateExperimentTemplate`` input shape) plus the cross-references the shape cannot express
(every action target names a defined target of the right resource type).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import botocore.session
from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters

from reslab.chaos.errors import InvalidFisTemplate
from reslab.chaos.faults import FAULTS
from reslab.chaos.fis_templates import SSM_DOCUMENT, Settings, ssm_document

#: FIS action id -> (target key it takes, resource type it needs); None: no target.
ACTIONS: dict[str, tuple[str, str] | None] = {
    "aws:ec2:terminate-instances": ("Instances", "aws:ec2:instance"),
    "aws:network:disrupt-connectivity": ("Subnets", "aws:ec2:subnet"),
    "aws:rds:reboot-db-instances": ("DBInstances", "aws:rds:db"),
    "aws:ssm:start-automation-execution": None,
}


def validate(template: dict[str, Any]) -> None:
    """Raise InvalidFisTemplate unless ``template`` is a valid CreateExperimentTemplate input."""
    model = botocore.session.get_session().get_service_model("fis")
    shape = model.operation_model("CreateExperimentTemplate").input_shape
    try:
        validate_parameters({"clientToken": str(uuid.uuid4()), **template}, shape)
    except ParamValidationError as exc:
        raise InvalidFisTemplate(str(exc)) from exc
    targets = template.get("targets", {})
    for name, action in template["actions"].items():
        if action["actionId"] not in ACTIONS:
            raise InvalidFisTemplate(f"action {name}: unknown actionId {action['actionId']}")
        wanted = ACTIONS[action["actionId"]]
        given = action.get("targets", {})
        if wanted is None:
            if given:
                raise InvalidFisTemplate(f"action {name} takes no targets")
            continue
        key, resource_type = wanted
        if set(given) != {key} or given[key] not in targets:
            raise InvalidFisTemplate(f"action {name}: needs targets {{{key}: <defined target>}}")
        if targets[given[key]]["resourceType"] != resource_type:
            raise InvalidFisTemplate(f"action {name}: target {given[key]} must be {resource_type}")
    if not template.get("stopConditions"):
        raise InvalidFisTemplate("no stop condition")


def export(settings: Settings, out: Path) -> list[Path]:
    """Write (validated) ``fis-<fault>.json`` templates and the SSM document; returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fault in FAULTS.items():
        template = fault.fis_template(settings)
        if not template["targets"]:
            del template["targets"]
        validate(template)
        path = out / f"fis-{name}.json"
        path.write_text(json.dumps(template, indent=2) + "\n")
        written.append(path)
    doc = out / f"ssm-{SSM_DOCUMENT}.json"
    doc.write_text(json.dumps(ssm_document(), indent=2) + "\n")
    written.append(doc)
    return written


def validate_remote(fis_client: Any, paths: list[Path]) -> list[str]:
    """Create each template on the endpoint and delete it again; returns the ids seen."""
    ids = []
    for path in paths:
        created = fis_client.create_experiment_template(**json.loads(path.read_text()))
        template_id = created["experimentTemplate"]["id"]
        fis_client.delete_experiment_template(id=template_id)
        ids.append(template_id)
    return ids
