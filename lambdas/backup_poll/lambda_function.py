"""One status check (snapshot or temporary instance) between two Wait states; RestoreTimeout after
the deadline.

Step of statemachine/restore.asl.json; the logic is ``reslab.restore.steps.poll`` (vendored, see
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
    return steps.poll(event)
