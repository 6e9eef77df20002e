"""Pick the latest/named snapshot of the source instance, or take a fresh one (fingerprinting the
source just before).

Step of statemachine/restore.asl.json; the logic is ``reslab.restore.steps.pick_snapshot``
(vendored, see vendor.txt). Raises named errors (reslab.restore.errors): the class name is the Step
Functions error.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from reslab.restore import steps

logging.getLogger().setLevel(os.environ.get("LOG_LEVEL", "INFO"))


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return steps.pick_snapshot(event)
