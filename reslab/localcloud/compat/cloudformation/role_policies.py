"""CloudFormation's ``AWS::IAM::Role`` attaches its ``ManagedPolicyArns`` (gap 72 of
docs/local-cloud.md).

moto 5.2.5 creates the role with its inline ``Policies`` and drops ``ManagedPolicyArns``: a role
whose grants are managed policies (the installer's CloudFormation role, ``web.yaml``'s instance
role with ``AmazonSSMManagedInstanceCore``) held nothing, which no test noticed while nothing
authorized what that role does. As AWS's handler does, the policies are attached on create and
detached before the role is deleted (IAM refuses to delete a role with attached policies).
"""

from __future__ import annotations

from typing import Any

_installed = False


def _backend(account_id: str, region_name: str) -> Any:
    from moto.iam.models import iam_backends
    from moto.utilities.utils import get_partition

    return iam_backends[account_id][get_partition(region_name)]


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.iam.models import Role

    create = Role.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    delete = Role.delete_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_attached(
        cls: Any,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        role = create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        backend = _backend(account_id, region_name)
        for arn in cloudformation_json.get("Properties", {}).get("ManagedPolicyArns") or []:
            backend.attach_role_policy(policy_arn=str(arn), role_name=role.name)
        return role

    def delete_detached(
        cls: Any,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        backend = _backend(account_id, region_name)
        for role in list(backend.roles.values()):
            if role.name == resource_name:
                for arn in list(role.managed_policies):
                    backend.detach_role_policy(policy_arn=arn, role_name=role.name)
        delete(cls, resource_name, cloudformation_json, account_id, region_name)

    Role.create_from_cloudformation_json = classmethod(create_attached)  # type: ignore[method-assign,assignment]
    Role.delete_from_cloudformation_json = classmethod(delete_detached)  # type: ignore[method-assign,assignment]
    _installed = True
