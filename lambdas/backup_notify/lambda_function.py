"""Post the verdict to Slack (webhook URL from an SSM SecureString), retried with backoff.

Step of statemachine/restore.asl.json; the logic is ``reslab.restore.steps.notify`` (vendored, see
vendor.txt). Raises named errors (reslab.restore.errors): the class name is the Step Functions
error.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from reslab.restore import steps

logging.getLogger().setLevel(os.environ.get("LOG_LEVEL", "INFO"))


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return steps.notify(event)
