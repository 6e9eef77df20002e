"""Gap 56: AWS managed policies exist in the local cloud's IAM as they do on AWS.

moto knows AWS managed policies only when ``MOTO_IAM_LOAD_MANAGED_POLICIES`` loads all of them
(~1,300, a second per account and region backend); without it ``AttachRolePolicy`` of
``arn:aws:iam::aws:policy/...`` answers NoSuchEntity. Here a policy of moto's own copy of the
list is added to the backend the first time a call names it, so ``reslab install`` can attach
``service-role/AmazonDMSVPCManagementRole`` to ``dms-vpc-role`` (``installer/dms_roles.py``).
A name AWS does not have still fails as on AWS.
"""

from __future__ import annotations

import functools
import json
from typing import Any

_AWS_POLICY_PREFIX = ":iam::aws:policy/"


@functools.cache
def _aws_policy_data() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return dict(json.loads(aws_managed_policies_data))


def _add_aws_policy(backend: Any, policy_arn: str) -> None:
    """Put the AWS managed policy ``policy_arn`` in ``backend`` when AWS has it."""
    from moto.iam.models import AWSManagedPolicy

    if _AWS_POLICY_PREFIX not in policy_arn or policy_arn in backend.managed_policies:
        return
    name = policy_arn.rsplit("/", 1)[-1]
    data = _aws_policy_data().get(name)
    if data is None:
        return
    policy = AWSManagedPolicy.from_data(name, backend.account_id, backend.region_name, data)
    if policy.arn == policy_arn:  # the path matches too (service-role/ ...)
        backend.managed_policies[policy.arn] = policy


def install() -> None:
    from moto.iam.models import IAMBackend

    if getattr(IAMBackend, "_reslab_aws_policies", False):
        return
    attach = IAMBackend.attach_role_policy
    get_policy = IAMBackend.get_policy

    def attach_role_policy(self: Any, policy_arn: str, role_name: str) -> None:
        _add_aws_policy(self, policy_arn)
        attach(self, policy_arn, role_name)

    def get_aws_policy(self: Any, policy_arn: str) -> Any:
        _add_aws_policy(self, policy_arn)
        return get_policy(self, policy_arn)

    IAMBackend.attach_role_policy = attach_role_policy  # type: ignore[method-assign]
    IAMBackend.get_policy = get_aws_policy  # type: ignore[method-assign]
    IAMBackend._reslab_aws_policies = True  # type: ignore[attr-defined]
