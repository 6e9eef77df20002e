"""CloudFormation properties moto 5.2.5 reads in the wrong shape, for types it does implement.

``AWS::SSM::Parameter`` ``Tags`` is a JSON map in CloudFormation (``{"workshop": "x"}``); moto
passes it on as if it were the API's ``[{"Key": ..., "Value": ...}]`` list and fails with
``TypeError: string indices must be integers``. We convert the map to the list first.

``AWS::Lambda::Function`` ``Tags`` were dropped (moto copies a fixed list of properties that
leaves them out), so a function the installer stack made carried no workshop tag and
``reslab sweep`` could not find it. We tag the function after moto creates it.
"""

from __future__ import annotations

from typing import Any

_installed = False


def _tag_list(tags: Any) -> Any:
    if isinstance(tags, dict):
        return [{"Key": str(k), "Value": str(v)} for k, v in tags.items()]
    return tags


def _patch_ssm_parameter_tags() -> None:
    from moto.ssm.models import Parameter

    original = Parameter.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(
        cls: Any,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        props = cloudformation_json.get("Properties", {})
        if "Tags" in props:
            cloudformation_json = {
                **cloudformation_json,
                "Properties": {**props, "Tags": _tag_list(props["Tags"])},
            }
        return original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    Parameter.create_from_cloudformation_json = classmethod(create)  # type: ignore[assignment]


def _patch_lambda_function_tags() -> None:
    from moto.awslambda.models import LambdaFunction, lambda_backends

    original = LambdaFunction.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(
        cls: Any,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        fn = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        tags = cloudformation_json.get("Properties", {}).get("Tags") or []
        if tags:
            lambda_backends[account_id][region_name].tag_resource(
                fn.function_arn, {t["Key"]: t["Value"] for t in tags}
            )
        return fn

    LambdaFunction.create_from_cloudformation_json = classmethod(create)  # type: ignore[assignment]


def install() -> None:
    global _installed
    if _installed:
        return
    _patch_ssm_parameter_tags()
    _patch_lambda_function_tags()
    _installed = True
