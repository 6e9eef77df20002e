"""Step Functions gaps in moto 5.2.5's ASL interpreter.

1. ``arn:aws:states:::states:startExecution(.sync|.sync:2)`` failed with ``KeyError
   'StateMachineArn'``: moto stubs ``StateTaskService._normalise_parameters`` and
   ``_normalise_response``
   (LocalStack maps the ASL's PascalCase keys to boto's member names and back), so the request
   carried ``StateMachineArn`` where boto3 wants ``stateMachineArn``, and the sync resolvers then
   read ``ExecutionArn`` from a response keyed ``executionArn``. We restore both mappings for the
   ``states`` integration, using moto's own ``_to_boto_request``/``_from_boto_response`` helpers,
   and turn the datetimes into epoch milliseconds as AWS does (else the parent's output could
   not be serialised: HTTP 500 on DescribeExecution).
3. ``AWS::StepFunctions::StateMachine`` in CloudFormation went to the NON-executing backend
   (invisible to the API once execution is on), ignored ``Definition`` (object),
   ``DefinitionS3Location`` and ``DefinitionSubstitutions``, and a stack update wrote to the
   non-executing backend too. Now create and update use the executing backend and render
   substitutions (``reslab.localcloud.substitutions.render_definition``).
2. ``StartExecution`` without ``name`` gave every execution the name ``None`` (so the second one
   failed with ExecutionAlreadyExists); AWS generates a UUID. We do the same.

Gap 75: ``StartExecution`` accepted an input of any size; AWS refuses one over 256 KiB with
``ValidationException`` before the execution exists. See :func:`_patch_start_execution`.

Gap 64: an error name a state reports at run time that begins with ``States.`` (a ``Fail`` state
re-raising a caught ``States.TaskFailed`` by ``ErrorPath``, a ``Parallel`` branch or ``Map``
iteration that failed with one) ended the execution with ``States.Runtime`` / ``ValueError: Custom
Error Names MUST NOT begin with the prefix 'States.'``: moto's interpreter built every such name as
a ``CustomErrorName``, whose check belongs to the names a definition declares. AWS reports the
name as given. See :func:`_report_states_error_names`.
"""

from __future__ import annotations

import datetime
import json
import uuid
from functools import cache
from typing import Any

import botocore.session
from moto.core.exceptions import JsonRESTError

_installed = False


@cache
def _operation_model(service: str, snake_action: str) -> Any:
    from moto.stepfunctions.parser.utils import camel_to_snake_case

    model = botocore.session.get_session().get_service_model(service)
    for name in model.operation_names:
        if camel_to_snake_case(name) == snake_action:
            return model.operation_model(name)
    raise KeyError(f"{service}.{snake_action}")


def _dates_to_epoch_millis(response: Any) -> None:
    """AWS reports the nested execution's StartDate/StopDate as epoch milliseconds."""
    if isinstance(response, dict):
        for key, value in response.items():
            if isinstance(value, datetime.datetime):
                response[key] = int(value.timestamp() * 1000)


def _patch_sfn_integration() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (  # noqa: E501
        StateTaskServiceSfn,
    )

    original = StateTaskServiceSfn._normalise_parameters

    def normalise_parameters(
        self: Any,
        parameters: dict[str, Any],
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        original(self, parameters, boto_service_name, service_action_name)
        op = _operation_model(
            self._get_boto_service_name(boto_service_name),
            self._get_boto_service_action(service_action_name),
        )
        self._to_boto_request(parameters, op.input_shape)

    def normalise_response(
        self: Any,
        response: Any,
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        op = _operation_model(
            self._get_boto_service_name(boto_service_name),
            self._get_boto_service_action(service_action_name),
        )
        if op.output_shape is not None:
            self._from_boto_response(response, op.output_shape)
        _dates_to_epoch_millis(response)

    StateTaskServiceSfn._normalise_parameters = normalise_parameters
    StateTaskServiceSfn._normalise_response = normalise_response


#: Bytes of UTF-8 an execution's input may hold (gap 75): the API reference's "Length
#: Constraints: Maximum length of 262144", the quotas' "Maximum input or output size for a task,
#: state, or execution".
MAX_INPUT_BYTES = 262_144


class InputTooLarge(JsonRESTError):
    """AWS's constraint error for an input over :data:`MAX_INPUT_BYTES`."""

    def __init__(self, size: int) -> None:
        super().__init__(
            "ValidationException",
            "1 validation error detected: Value at 'input' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_INPUT_BYTES} (got {size} bytes)",
        )


def _patch_start_execution() -> None:
    """An input over 256 KiB is refused before the execution exists (gap 75: moto started it,
    so an event too large for AWS reached the deploy machine's validator locally); a start
    without a name gets a generated one."""
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
            raise InputTooLarge(size)
        return original(
            self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header
        )

    StepFunctionsParserBackend.start_execution = start_execution


def _definition_from_properties(props: dict[str, Any], account_id: str) -> str:
    from reslab.localcloud.substitutions import render_definition

    if "Definition" in props:
        definition: str = json.dumps(props["Definition"])
    elif "DefinitionS3Location" in props:
        from moto.s3.models import s3_backends

        loc = props["DefinitionS3Location"]
        key = s3_backends[account_id]["aws"].get_object(loc["Bucket"], loc["Key"])
        definition = key.value.decode("utf-8")
    else:
        definition = props.get("DefinitionString", "")
    subs = props.get("DefinitionSubstitutions")
    return render_definition(definition, subs) if subs else definition


def _patch_cfn_state_machine() -> None:
    from moto.stepfunctions.models import StateMachine
    from moto.stepfunctions.responses import get_backend
    from moto.stepfunctions.utils import cfn_to_api_tags

    def create(
        cls: Any,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        props = cloudformation_json["Properties"]
        return get_backend(account_id, region_name).create_state_machine(
            props.get("StateMachineName", resource_name),
            _definition_from_properties(props, account_id),
            props.get("RoleArn", ""),
            tags=cfn_to_api_tags(props.get("Tags", [])),
        )

    def update(
        cls: Any,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        props = cloudformation_json["Properties"]
        if props.get("StateMachineName", original_resource.name) != original_resource.name:
            get_backend(account_id, region_name).delete_state_machine(original_resource.arn)
            return create(cls, new_resource_name, cloudformation_json, account_id, region_name)
        backend = get_backend(account_id, region_name)
        machine = backend.update_state_machine(
            original_resource.arn,
            definition=_definition_from_properties(props, account_id),
            role_arn=props.get("RoleArn"),
        )
        backend.tagger.tag_resource(machine.arn, cfn_to_api_tags(props.get("Tags", [])))
        return machine

    def delete(self: Any, account_id: str, region_name: str) -> None:
        get_backend(account_id, region_name).delete_state_machine(self.arn)

    StateMachine.create_from_cloudformation_json = classmethod(create)  # type: ignore[assignment]
    StateMachine.update_from_cloudformation_json = classmethod(update)  # type: ignore[assignment]
    StateMachine.delete = delete  # type: ignore[attr-defined]


def _name_interpreter_errors() -> None:
    """Gap 62: the interpreter's API errors (LocalStack's ``code`` attribute) answered with an
    empty ``__type``; AWS names them (``InvalidDefinition``, ``InvalidArn``...)."""
    from moto.core.exceptions import AWSError
    from moto.stepfunctions.parser import api

    for error in vars(api).values():
        if isinstance(error, type) and issubclass(error, AWSError) and error is not AWSError:
            code = error.__dict__.get("code")
            if isinstance(code, str) and not error.TYPE:
                error.TYPE = code
                error.STATUS = int(error.__dict__.get("status_code", 400))


def _reported_error_name(error_name: str | None = None) -> Any:
    """The error a state reports at run time: one of AWS's own ``States.*`` names as such
    (``Catch``/``Retry`` match it as the interpreter's own errors), any other ``States.``-prefixed
    name as given, the rest as moto builds them."""
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
        ILLEGAL_CUSTOM_ERROR_PREFIX,
        CustomErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
        StatesErrorName,
    )

    if error_name is None or not error_name.startswith(ILLEGAL_CUSTOM_ERROR_PREFIX):
        return CustomErrorName(error_name)
    try:
        return StatesErrorName.from_name(error_name)
    except ValueError:  # not one of AWS's names: reported as given, never matched as one of them
        reported = CustomErrorName.__new__(CustomErrorName)
        ErrorName.__init__(reported, error_name)
        return reported


def _report_states_error_names() -> None:
    """Gap 64: the three places moto's interpreter turns a name reported at run time into a
    ``CustomErrorName`` (a ``Fail`` state's ``Error``/``ErrorPath``, a failed ``Parallel``
    branch, a failed ``Map`` iteration) build it with :func:`_reported_error_name`; a
    definition's declared names (``ErrorEquals``) keep moto's check."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        iteration_worker,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branches_decl
    from moto.stepfunctions.parser.asl.component.state.fail import state_fail

    for module in (state_fail, branches_decl, iteration_worker):
        module.CustomErrorName = _reported_error_name  # type: ignore[attr-defined]


def install() -> None:
    global _installed
    if _installed:
        return
    _name_interpreter_errors()
    _report_states_error_names()
    _patch_sfn_integration()
    _patch_start_execution()
    _patch_cfn_state_machine()
    _installed = True
