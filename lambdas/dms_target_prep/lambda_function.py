"""Prepare the DMS target before its replication task starts: the lab database, its schema and
the ``dms_target`` user, as the target's master user (docs/dms.md, "Target preparation").

Created by the dms stack (``TargetPreparationFunction``) in the secondary region's lab VPC, the
only place that reaches the private target; invoked by the deploy's status handoff
(``reslab_lambda.replication``) before ``StartReplicationTask``. The work is
``webapp.schema.dms_target.prepare_from_environment``; the secrets are read here with the
function's role (nothing from them is logged or returned).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from reslab_lambda.aws import client
from reslab_lambda.handler import handler
from webapp.db import connect
from webapp.schema.dms_target import prepare_from_environment


def secret_value(arn: str) -> Mapping[str, Any]:
    """The secret's JSON, read in the secret's own region (from its ARN)."""
    region = arn.split(":")[3]
    value = client("secretsmanager", region).get_secret_value(SecretId=arn)["SecretString"]
    return dict(json.loads(value))


def prepare(_payload: Any) -> dict[str, str]:
    return prepare_from_environment(os.environ, secret_value, connect)


lambda_handler = handler("dms_target_prep", prepare)
