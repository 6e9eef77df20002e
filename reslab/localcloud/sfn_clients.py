"""Where moto's Step Functions interpreter gets its boto3 clients, for the two layers that wrap
it (``speedups`` keeps clients, ``compat.iam_sessions`` signs them with the machine's role).

The interpreter's task modules imported ``boto_client_for`` by name, so a wrapper replaces it in
each of them as well as in ``boto_client``."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

#: Modules of moto's Step Functions interpreter that imported ``boto_client_for``.
MODULES = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
    *(
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service."
        f"state_task_service_{name}"
        for name in (
            "aws_sdk",
            "sfn",
            "sns",
            "sqs",
            "events",
            "ecs",
            "batch",
            "dynamodb",
            "glue",
            "unsupported",
        )
    ),
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval."
    "resource_eval_s3",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer."
    "resource_eval.resource_eval_s3",
)


def current_client_factory() -> Callable[..., Any]:
    from moto.stepfunctions.parser.asl.utils import boto_client

    return boto_client.boto_client_for  # type: ignore[no-any-return]


def replace_client_factory(original: Callable[..., Any], wrapper: Callable[..., Any]) -> None:
    """Put ``wrapper`` wherever the interpreter holds ``original``."""
    from moto.stepfunctions.parser.asl.utils import boto_client

    for name in MODULES:
        module = importlib.import_module(name)
        if getattr(module, "boto_client_for", None) is original:
            module.boto_client_for = wrapper  # type: ignore[attr-defined]
    boto_client.boto_client_for = wrapper  # type: ignore[assignment]
