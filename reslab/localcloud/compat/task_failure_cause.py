"""Gap 61: moto 5.2.5's ``SendTaskFailure`` handler drops the request's ``cause`` (it passes
only ``error`` to the interpreter), so a ``.waitForTaskToken`` Task failed with an empty Cause:
the deploy's ``StackFailed`` no longer named the stack and its reason. The cause is passed on,
as AWS keeps it."""

from __future__ import annotations

from typing import Any

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.core.responses import EmptyResult
    from moto.stepfunctions.responses import StepFunctionResponse

    def send_task_failure(self: Any) -> Any:
        self.stepfunction_backend.send_task_failure(
            self._get_param("taskToken"),
            error=self._get_param("error"),
            cause=self._get_param("cause"),
        )
        return EmptyResult()

    StepFunctionResponse.send_task_failure = send_task_failure  # type: ignore[method-assign]
    _installed = True
