"""First state of both machines: reject a bad event (InvalidEvent) before anything is created.

Input: the execution input (the documented event).
Output: ``{"event": <normalised>, "stacks": {}}``.
"""

from typing import Any

from reslab_lambda.event import check_installed_dms, check_installed_prefix, validate_event
from reslab_lambda.handler import handler


def validate(event: Any) -> dict[str, Any]:
    normalised = validate_event(event)
    check_installed_prefix(normalised)
    check_installed_dms(normalised)
    return {"event": normalised, "stacks": {}}


lambda_handler = handler("validate_event", validate)
