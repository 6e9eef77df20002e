"""CloudFormation acts with its service role (gap 71 of docs/local-cloud.md).

moto 5.2.5 creates and deletes a stack's resources with backend calls, never over HTTP, so the
request path (``compat/iam_enforce.py``) authorizes none of them: a CloudFormation role lacking a
permission, or a resource without the tag its role's ``aws:RequestTag`` condition requires,
passed here and failed on AWS. As AWS does:

* a stack with a ``RoleARN`` acts as a session of that role, assumed by
  ``cloudformation.amazonaws.com`` (trust policy checked; session ``AWSCloudFormation``);
  without one, as the caller of the ``CreateStack``/``DeleteStack`` request;
* before each resource is created, the calls its handler makes for its properties
  (``reslab.iam.cfn_handlers``) are authorized on its ARN with the stack's and its own tags as
  request tags; a denial fails the resource (``CREATE_FAILED`` with the handler's message, then
  the rollback of gap 11, whose deletes act with the same principal);
* before each resource is deleted, its delete handler's calls are authorized (``DELETE_FAILED``);
* ``UpdateStack`` acts with the role it names, else the stack's (moto forgets it), and each
  updated resource's update handler calls are authorized (``UPDATE_FAILED``, then the stack
  back at its previous template and parameters, ``UPDATE_ROLLBACK_COMPLETE``).

An EC2 resource gets the stack's tags as it is created (AWS's ``TagSpecifications``), not when
moto's create loop reaches it, and ELBv2 load balancers, target groups and listeners the tags
moto's models drop, so a later call on them (a delete) sees their ``aws:ResourceTag``.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from reslab.iam import cfn_handlers
from reslab.iam.context import Environment, build
from reslab.iam.denials import denial
from reslab.iam.evaluate import Decision, Principal, Request
from reslab.iam.motostate import tag_dict
from reslab.iam.state import PrincipalPolicies, Where
from reslab.localcloud.compat import iam_enforce
from reslab.localcloud.compat.cloudformation import stack_lifecycle
from reslab.localcloud.compat.cloudformation.stack_lifecycle import ResourceFailure

SERVICE = "cloudformation.amazonaws.com"
#: The session name CloudFormation's calls show (``assumed-role/<role>/AWSCloudFormation``).
SESSION_NAME = "AWSCloudFormation"
#: IAM service prefix -> boto3 service name, where they differ (for the denial's wording).
_BOTO3_NAMES = {"elasticloadbalancing": "elbv2", "states": "stepfunctions"}

_installed = False
_local = threading.local()


@dataclass
class Acting:
    """Who a stack operation acts as, and what it has read once for all its resources."""

    where: Where
    principal: Principal
    _policies: PrincipalPolicies | None = field(default=None, repr=False)
    _env: Environment | None = field(default=None, repr=False)

    def env(self) -> Environment:
        if self._env is None:
            from reslab.iam.motostate import MotoState

            self._env = Environment(self.where, MotoState(self.where))
        return self._env

    def policies(self) -> PrincipalPolicies:
        if self._policies is None:
            self._policies = self.env().state.principal_policies(self.principal)
        return self._policies


class RoleCannotBeAssumed(ResourceFailure):
    """The stack's RoleARN does not exist or does not trust CloudFormation."""


def _stack_of_acting() -> list[Acting]:
    if not hasattr(_local, "acting"):
        _local.acting = []
        _local.pending = []
    return _local.acting  # type: ignore[no-any-return]


def current() -> Acting | None:
    acting = _stack_of_acting()
    return acting[-1] if acting else None


def _principal(name: str, role_arn: str | None, where: Where) -> Principal:
    if role_arn:
        from reslab.localcloud.compat.iam_sessions import RoleNotAssumable, session_for

        try:
            session_for(SERVICE, role_arn, SESSION_NAME, where.region)
        except RoleNotAssumable:
            raise RoleCannotBeAssumed(
                name,
                "AWS::CloudFormation::Stack",
                f"Role {role_arn} is invalid or cannot be assumed",
            ) from None
        return Principal.session(role_arn, SESSION_NAME)
    return iam_enforce.caller() or Principal.root(where.account)


@contextmanager
def acting_for(
    account: str, region: str, name: str, role_arn: str | None
) -> Iterator[Acting | None]:
    """The principal of one stack operation (None: IAM is not enforced). A nested stack acts as
    its parent's operation does (the parent's role)."""
    if not iam_enforce.enforcement.enabled or current() is not None:
        yield current()
        return
    from moto.utilities.utils import get_partition

    where = Where(account, region, get_partition(region))
    acting = Acting(where, _principal(name, role_arn, where))
    _stack_of_acting().append(acting)
    try:
        yield acting
    finally:
        _stack_of_acting().pop()


# --- the handler's message -----------------------------------------------------------------------
def _sdk_name(service: str) -> str:
    """The service as AWS's Java SDK v2 names it in a handler's error (``Rds``, ``Ec2``)."""
    from reslab.iam.iamdb import service_model

    words = str(service_model(service).metadata.get("serviceId", service)).split()
    return "".join(w[0].upper() + (w[1:].lower() if w.isupper() else w[1:]) for w in words)


def handler_message(request: Request, decision: Decision) -> str:
    """``Resource handler returned message: "<the service's AccessDenied message> (Service: ...,
    Status Code: ..., Request ID: ...)" (RequestToken: ..., HandlerErrorCode: AccessDenied)``."""
    prefix = request.action.split(":", 1)[0]
    service = _BOTO3_NAMES.get(prefix, prefix)
    answer = denial(service, request, decision)
    return (
        f'Resource handler returned message: "{answer.message} (Service: {_sdk_name(service)}, '
        f'Status Code: {answer.status}, Request ID: {uuid.uuid4()})" '
        f"(RequestToken: {uuid.uuid4()}, HandlerErrorCode: AccessDenied)"
    )


# --- authorization -------------------------------------------------------------------------------
def authorize(
    acting: Acting, logical_id: str, resource_type: str, handler: str, params: Mapping[str, Any]
) -> None:
    """Authorize one handler's calls; raise :class:`ResourceFailure` on the first denial."""
    authorizations = cfn_handlers.calls(resource_type, handler, params)
    if not authorizations:
        return
    policies = acting.policies()
    for built in build(authorizations, params, acting.principal, acting.env(), policies):
        decision = built.decide(policies)
        iam_enforce.enforcement.log.record(
            built.request, decision, f"cloudformation.{handler} {resource_type}"
        )
        if not decision.allowed:
            raise ResourceFailure(
                logical_id, resource_type, handler_message(built.request, decision)
            )


def create_params(resource_map: Any, properties: Mapping[str, Any], name: str) -> dict[str, Any]:
    """What a create handler's rows read: the resolved properties, ``Name`` and ``Tags`` (the
    stack's, without CloudFormation's own ``aws:`` tags, and the resource's)."""
    stack_tags = {k: v for k, v in resource_map.tags.items() if not k.startswith("aws:")}
    tags = {**stack_tags, **tag_dict(properties.get("Tags"))}
    params = {**properties, "Name": name}
    params["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()] or None
    return params


def existing_params(resource_map: Any, resource: Any) -> dict[str, Any]:
    """What the delete and update handlers' rows read of an existing resource: the create's
    parameters (kept: references may be gone by now), ``Id`` and ``Arn``."""
    logical_id = getattr(resource, "logical_resource_id", None)
    params = dict(getattr(resource_map, "_reslab_params", {}).get(logical_id, {}))
    physical = getattr(resource, "physical_resource_id", None)
    arn = getattr(resource, "arn", None)
    params["Id"] = physical
    params.setdefault("Name", physical)
    params["Arn"] = arn if isinstance(arn, str) and arn.startswith("arn:") else physical
    params.setdefault("AllocationId", getattr(resource, "allocation_id", None))
    return params


def _tag_elbv2(resource: Any, resource_map: Any, tags: list[dict[str, str]]) -> None:
    from moto.elbv2.models import elbv2_backends

    backend = elbv2_backends[resource_map._account_id][resource_map._region_name]
    backend.tagging_service.tag_resource(resource.arn, tags)


#: Types whose moto model drops the tags CloudFormation creates them with (the stack's and the
#: resource's own): applied after the create, so that a later call sees ``aws:ResourceTag``.
_TAGGERS = {
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _tag_elbv2,
    "AWS::ElasticLoadBalancingV2::TargetGroup": _tag_elbv2,
    "AWS::ElasticLoadBalancingV2::Listener": _tag_elbv2,
}


def _tag_dropped(resource: Any, resource_map: Any, logical_id: str) -> None:
    tagger = _TAGGERS.get(getattr(resource, "cf_resource_type", ""))
    params = getattr(resource_map, "_reslab_params", {}).get(logical_id) or {}
    if tagger is not None and params.get("Tags"):
        tagger(resource, resource_map, params["Tags"])


def _tag_ec2_now(resource: Any, resource_map: Any, logical_id: str) -> None:
    """The stack's tags on an EC2 resource the moment it exists (moto adds them later)."""
    from moto.ec2 import models as ec2_models
    from moto.ec2.models.core import TaggedEC2Resource

    if not isinstance(resource, TaggedEC2Resource):
        return
    tags = {**resource_map.tags, "aws:cloudformation:logical-id": logical_id}
    backend = ec2_models.ec2_backends[resource_map._account_id][resource_map._region_name]
    # an address is named by its allocation id in ARNs, by its public IP in moto's create loop
    ids = [resource.physical_resource_id, getattr(resource, "allocation_id", None)]
    backend.create_tags([i for i in ids if i], tags)


# --- the patches ---------------------------------------------------------------------------------
def _patch_parsing() -> None:
    from moto.cloudformation import parsing

    create = parsing.parse_and_create_resource
    update = parsing.parse_and_update_resource
    name_of = parsing.parse_resource_and_generate_name
    delete = parsing.ResourceMap._delete_resource

    def parse_and_update_resource(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, *args: Any, **kw: Any
    ) -> Any:
        acting = current()
        if acting is not None and logical_id in getattr(resources_map, "_reslab_params", {}):
            params = existing_params(resources_map, resources_map[logical_id])
            authorize(acting, logical_id, resource_json.get("Type", ""), "update", params)
        return update(logical_id, resource_json, resources_map, *args, **kw)

    def parse_and_create_resource(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, *args: Any, **kw: Any
    ) -> Any:
        _stack_of_acting()  # the thread's lists exist
        _local.pending.append(logical_id)
        try:
            resource = create(logical_id, resource_json, resources_map, *args, **kw)
        finally:
            _local.pending.pop()
        if resource is not None and current() is not None:
            _tag_ec2_now(resource, resources_map, logical_id)
            _tag_dropped(resource, resources_map, logical_id)
        return resource

    def parse_resource_and_generate_name(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any
    ) -> Any:
        result = name_of(logical_id, resource_json, resources_map)
        acting = current()
        pending = getattr(_local, "pending", None)
        if result and pending and pending[-1] == logical_id:
            _, resolved, name = result
            params = create_params(resources_map, resolved.get("Properties") or {}, str(name))
            if acting is None:
                # moto creates resources lazily outside any stack operation too (listing a
                # rolled-back stack's resources): nothing authorized them, nor their delete
                return result
            authorize(acting, logical_id, resolved["Type"], "create", params)
            if not hasattr(resources_map, "_reslab_params"):
                resources_map._reslab_params = {}
            resources_map._reslab_params[logical_id] = params
        return result

    def delete_resource(self: Any, parsed_resource: Any, resource_json: dict[str, Any]) -> None:
        acting = current()
        logical_id = getattr(parsed_resource, "logical_resource_id", "")
        if acting is not None and logical_id in getattr(self, "_reslab_params", {}):
            params = existing_params(self, parsed_resource)
            authorize(acting, logical_id, resource_json.get("Type", ""), "delete", params)
        delete(self, parsed_resource, resource_json)

    def delete_in_reverse_order(self: Any) -> None:
        """moto's ``ResourceMap.delete`` (retry passes while the remaining count goes down),
        in the reverse of the order the resources were created, as AWS deletes a stack: an
        alias before its key, a route before its table (moto iterated a set)."""
        created = list(getattr(self, "_reslab_params", {}))
        remaining = [
            key
            for key, value in self._resource_json_map.items()
            if value.get("DeletionPolicy") != "Retain"
        ]
        rank = {key: i for i, key in enumerate(created)}
        remaining.sort(key=lambda key: -rank.get(key, -1))
        last: Exception | None = None
        previous = len(remaining) + 1
        while remaining and len(remaining) < previous:
            previous = len(remaining)
            for key in list(remaining):
                parsed = self._parsed_resources.get(key)
                try:
                    if not isinstance(parsed, str) and parsed is not None:
                        self._delete_resource(parsed, self._resource_json_map[key])
                        self._parsed_resources.pop(parsed.logical_resource_id)
                except Exception as exc:  # noqa: BLE001 - a dependency: tried in the next pass
                    last = exc
                else:
                    remaining.remove(key)
        if remaining and last is not None:
            raise last

    parsing.ResourceMap.delete = delete_in_reverse_order  # type: ignore[method-assign]
    parsing.parse_and_create_resource = parse_and_create_resource
    parsing.parse_and_update_resource = parse_and_update_resource
    parsing.parse_resource_and_generate_name = parse_resource_and_generate_name
    parsing.ResourceMap._delete_resource = delete_resource  # type: ignore[method-assign]


#: What moto's ``ResourceMap.update`` changes before it updates a resource: restored when an
#: update is denied (the resources before the denied one are not rolled back: one at most in
#: the lab's updates).
_ROLLED_BACK = ("_template", "_resource_json_map", "resolved_parameters")


def _patch_stacks() -> None:
    """Act from the start of ``CreateStack`` (moto creates the resources an exported output
    references while it builds the stack, before ``create_resources``) to the end of its
    rollback, and around a stack's update and delete."""
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import CloudFormationBackend, Stack

    create_stack = CloudFormationBackend.create_stack
    update = Stack.update
    delete = Stack.delete

    def create_acting(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        try:
            with acting_for(self.account_id, self.region_name, name, kwargs.get("role_arn")):
                return create_stack(self, name, *args, **kwargs)
        except RoleCannotBeAssumed as exc:  # AWS refuses the call: nothing is created
            raise ValidationError(name, message=exc.message) from None
        except ResourceFailure as exc:  # denied while moto computed the exports
            stack = next((s for s in self.stacks.values() if s.name == name), None)
            if stack is None:
                raise
            stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
            with acting_for(self.account_id, self.region_name, name, kwargs.get("role_arn")):
                stack_lifecycle.roll_back(stack, exc)
            return stack

    def update_acting(
        self: Any, template: str, role_arn: str | None = None, *args: Any, **kwargs: Any
    ) -> None:
        """``UpdateStack``: with the role it names, else the stack's (moto forgets it); a denied
        handler fails the resource and the update rolls back to the previous template."""
        role_arn = role_arn or self.role_arn
        previous, parameters = self.template, self.parameters
        resources = self.resource_map
        kept = {a: copy.copy(getattr(resources, a)) for a in _ROLLED_BACK if hasattr(resources, a)}
        try:
            with acting_for(self.account_id, self.region_name, self.name, role_arn):
                update(self, template, role_arn, *args, **kwargs)
        except ResourceFailure as exc:
            stack_lifecycle.add_event(
                self, exc.logical_id, exc.resource_type, "UPDATE_FAILED", exc.message
            )
            self.template, self.parameters = previous, parameters
            self._parse_template()
            for attribute, value in kept.items():
                setattr(resources, attribute, value)
            resources._parsed_resources.update(kept.get("resolved_parameters", {}))
            self.status = "UPDATE_ROLLBACK_COMPLETE"
            stack_lifecycle.add_event(
                self, self.name, "AWS::CloudFormation::Stack", self.status, None
            )

    def delete_acting(self: Any) -> None:
        with acting_for(self.account_id, self.region_name, self.name, self.role_arn):
            delete(self)

    CloudFormationBackend.create_stack = create_acting  # type: ignore[method-assign]
    Stack.update = update_acting  # type: ignore[method-assign]
    Stack.delete = delete_acting  # type: ignore[method-assign]


def install() -> None:
    """Wrap moto's stack create/update/delete and resource create/update/delete (idempotent)."""
    global _installed
    if _installed:
        return
    _patch_parsing()
    _patch_stacks()
    _installed = True
