"""Gap 75: ``StartExecution`` accepted an input of any size.

AWS limits an execution's input to 256 KiB (262,144 bytes of UTF-8: the API reference's "Length
Constraints: Maximum length of 262144", the Step Functions quotas' "Maximum input or output size
for a task, state, or execution") and refuses a larger one before the execution exists, with the
API's constraint error, ``ValidationException``. moto 5.2.5 started it, so an event too large for
AWS (issue 12's 5 MB ``boot_object``) reached the deploy machine's validator locally.
"""

from __future__ import annotations

from typing import Any

from moto.core.exceptions import JsonRESTError

#: Bytes of UTF-8 an execution's input may hold.
MAX_INPUT_BYTES = 262_144
_installed = False


class ValidationException(JsonRESTError):
    def __init__(self, size: int) -> None:
        super().__init__(
            "ValidationException",
            "1 validation error detected: Value at 'input' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_INPUT_BYTES} (got {size} bytes)",
        )


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original = StepFunctionsParserBackend.start_execution

    def start_execution(
        self: Any,
        state_machine_arn: str,
        name: str | None = None,
        execution_input: str | None = None,
        trace_header: str | None = None,
    ) -> Any:
        size = len((execution_input or "").encode("utf-8"))
        if size > MAX_INPUT_BYTES:
            raise ValidationException(size)
        return original(self, state_machine_arn, name, execution_input, trace_header)

    StepFunctionsParserBackend.start_execution = start_execution
    _installed = True
