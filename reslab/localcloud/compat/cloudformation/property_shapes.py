"""CloudFormation properties moto 5.2.5 reads in the wrong shape, for types it does implement.

* ``AWS::KMS::Key`` ``Tags`` are CloudFormation's ``Key``/``Value`` pairs; moto passed them to a
  tagger expecting ``TagKey``/``TagValue`` (HTTP 500), and a ``KeyPolicy`` object where it wants
  a JSON string. Converted before moto creates the key.
* ``AWS::SSM::Parameter`` ``Tags`` is a JSON map in CloudFormation (``{"workshop": "x"}``); moto
  passes it on as if it were the API's ``[{"Key": ..., "Value": ...}]`` list and fails with
  ``TypeError: string indices must be integers``. We convert the map to the list first.
* ``AWS::Lambda::Function`` ``Tags`` were dropped (moto copies a fixed list of properties that
  leaves them out), so a function the installer stack made carried no workshop tag and
  ``reslab sweep`` could not find it. We tag the function after moto creates it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

Properties = dict[str, Any]
_installed = False


def wrap_cfn_create(
    model: Any,
    before: Callable[[Properties], Properties] | None = None,
    after: Callable[[Any, Properties, str, str], None] | None = None,
) -> None:
    """Wrap ``model.create_from_cloudformation_json``: ``before`` returns the properties moto
    gets (a new dict), ``after(created, properties, account_id, region)`` fixes up the result."""
    original = model.create_from_cloudformation_json.__func__

    def create(
        cls: Any,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        props = dict(cloudformation_json.get("Properties") or {})
        if before is not None:
            props = before(props)
            cloudformation_json = {**cloudformation_json, "Properties": props}
        created = original(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        if after is not None:
            after(created, props, account_id, region_name)
        return created

    model.create_from_cloudformation_json = classmethod(create)


def kms_key_properties(props: Properties) -> Properties:
    props["Tags"] = [
        {"TagKey": t.get("Key", t.get("TagKey")), "TagValue": t.get("Value", t.get("TagValue"))}
        for t in props.get("Tags") or []
    ]
    if isinstance(props.get("KeyPolicy"), dict):
        props["KeyPolicy"] = json.dumps(props["KeyPolicy"])
    return props


def ssm_parameter_properties(props: Properties) -> Properties:
    tags = props.get("Tags")
    if isinstance(tags, dict):
        props["Tags"] = [{"Key": str(k), "Value": str(v)} for k, v in tags.items()]
    return props


def tag_lambda_function(fn: Any, props: Properties, account_id: str, region: str) -> None:
    from moto.awslambda.models import lambda_backends

    tags = props.get("Tags") or []
    if tags:
        lambda_backends[account_id][region].tag_resource(
            fn.function_arn, {t["Key"]: t["Value"] for t in tags}
        )


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.awslambda.models import LambdaFunction
    from moto.kms.models import Key
    from moto.ssm.models import Parameter

    wrap_cfn_create(Key, before=kms_key_properties)
    wrap_cfn_create(Parameter, before=ssm_parameter_properties)
    wrap_cfn_create(LambdaFunction, after=tag_lambda_function)
    _installed = True
