"""A :class:`~reslab.iam.state.ResourceState` read straight from moto 5.2.5's backends.

The authorizer runs inside a request, under the local cloud's request lock: it must not call the
server over HTTP (that would wait for the lock it holds), so it reads the backends' objects. Every
look-up is tolerant: an unknown name answers None (the ARN variable becomes ``*``, which only a
policy granting ``*`` there covers, i.e. the local cloud is then stricter than AWS, never looser).
"""

from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from reslab.iam.evaluate import Principal
from reslab.iam.policy import Policy
from reslab.iam.state import RESOLVERS, PrincipalPolicies, ResourcePolicy, Where

#: KMS keys AWS manages (aliases aws/*): their key policies let the account use them through
#: their service, so a caller needs no grant of its own; the resolvers answer None for them.
AWS_MANAGED_KEY_ALIASES = ("alias/aws/",)


#: backend name -> (moto module, backends attribute, keyed by partition rather than region)
_BACKENDS: dict[str, tuple[str, str, bool]] = {
    "iam": ("moto.iam.models", "iam_backends", True),
    "s3": ("moto.s3.models", "s3_backends", True),
    "lambda": ("moto.awslambda.models", "lambda_backends", False),
    "stepfunctions": ("moto.stepfunctions.models", "stepfunctions_backends", False),
}


def _backend(name: str, where: Where) -> Any:
    backends, by_partition = _backends(name)
    return backends[where.account][where.partition if by_partition else where.region]


@functools.cache
def _backends(name: str) -> tuple[Any, bool]:
    module_name, attribute, by_partition = _BACKENDS.get(
        name, (f"moto.{name}.models", f"{name}_backends", False)
    )
    return getattr(importlib.import_module(module_name), attribute), by_partition


@functools.lru_cache(maxsize=1024)
def _parsed(document: str, name: str) -> Policy:
    """Policies are parsed once per text: the same role's documents come with every request."""
    return Policy.parse(document, name)


def _where_of(arn: str, fallback: Where | None = None) -> Where:
    parts = arn.split(":")
    account = parts[4] if len(parts) > 4 and parts[4] else (fallback.account if fallback else "")
    region = parts[3] if len(parts) > 3 and parts[3] else (fallback.region if fallback else "")
    return Where(account, region or "us-east-1", parts[1] if len(parts) > 1 else "aws")


def tag_dict(tags: Any) -> dict[str, str]:
    """``[{"Key": k, "Value": v}]`` (or ``key``/``value``, ``TagKey``/``TagValue``) or a map."""
    if isinstance(tags, Mapping):
        return {
            str(k): str(v.get("Value", "")) if isinstance(v, Mapping) else str(v)
            for k, v in tags.items()
        }
    out = {}
    for tag in tags or []:
        key = tag.get("Key", tag.get("key", tag.get("TagKey")))
        if key is not None:
            out[str(key)] = str(tag.get("Value", tag.get("value", tag.get("TagValue", ""))))
    return out


class MotoState:
    """Reads moto's backends; ``default`` is the account/region of requests without an ARN."""

    def __init__(self, default: Where) -> None:
        self.default = default
        self._resolvers: dict[str, Callable[[str, Where], str | None]] = {
            "stack_arn": self._stack_arn,
            "secret_arn": self._secret_arn,
            "secret_kms_key": self._secret_kms_key,
            "kms_key_arn": self._kms_key_arn,
            "role_arn": self._role_arn,
            "role_boundary": self._role_boundary,
            "instance_profile_arn": self._instance_profile_arn,
            "parameter_arn": self._parameter_arn,
            "parameter_kms_key": self._parameter_kms_key,
            "subnet_of_acl_association": self._subnet_of_acl_association,
            "instance_of_eni_attachment": self._instance_of_eni_attachment,
            "eni_of_attachment": self._eni_of_attachment,
            "allocation_of_eip_association": self._allocation_of_eip_association,
            "snapshot_subnet_group": self._snapshot_attr("db_subnet_group_name"),
            "snapshot_option_group": self._snapshot_attr("option_group_name"),
            "snapshot_parameter_group": self._snapshot_attr("db_parameter_group_name"),
        }
        missing = set(RESOLVERS) - set(self._resolvers)
        if missing:
            raise NotImplementedError(f"resolvers without an implementation: {sorted(missing)}")

    # --- ResourceState ----------------------------------------------------------------------
    def lookup(self, resolver: str, value: str, where: Where) -> str | None:
        try:
            return self._resolvers[resolver](value, where)
        except (KeyError, AttributeError, IndexError, LookupError):
            return None
        except Exception as exc:  # moto's not-found exceptions share no base class
            if "NotFound" in type(exc).__name__ or "DoesNotExist" in type(exc).__name__:
                return None
            raise

    def tags(self, arn: str) -> Mapping[str, str] | None:
        service = arn.split(":")[2] if arn.count(":") >= 5 else ""
        reader = self._tag_readers().get(service)
        if reader is None:
            return None
        try:
            found = reader(arn, _where_of(arn, self.default))
        except Exception:  # noqa: BLE001 - a resource that does not exist has no tags
            return None
        return found or None

    def resource_policy(self, arn: str, action: str) -> ResourcePolicy | None:
        where = _where_of(arn, self.default)
        service = arn.split(":")[2] if arn.count(":") >= 5 else ""
        try:
            if service == "s3":
                bucket = arn.split(":::", 1)[1].split("/", 1)[0]
                raw = _backend("s3", where).get_bucket(bucket).policy
                if raw:
                    text = raw.decode() if isinstance(raw, bytes) else str(raw)
                    return ResourcePolicy(
                        Policy.parse(text, f"bucket policy of {bucket}"), "standard"
                    )
            if service == "kms":
                key = _backend("kms", where).describe_key(arn)
                return ResourcePolicy(Policy.parse(key.policy, f"key policy of {key.id}"), "kms")
            if action.lower() == "sts:assumerole" and service == "iam":
                role = _backend("iam", where).get_role_by_arn(arn)
                trust = Policy.parse(
                    role.assume_role_policy_document, f"trust policy of {role.name}"
                )
                return ResourcePolicy(trust, "trust")
        except Exception:  # noqa: BLE001 - no such resource: no resource-based policy
            return None
        return None

    def principal_policies(self, principal: Principal) -> PrincipalPolicies:
        if principal.kind not in ("assumed-role", "user"):
            return PrincipalPolicies()
        where = Where(principal.account, self.default.region, principal.arn.split(":")[1])
        iam = _backend("iam", where)
        if principal.kind == "assumed-role":
            try:
                entity = iam.get_role_by_arn(principal.role_arn)
            except Exception:  # noqa: BLE001 - moto's NoSuchEntity
                # a session of a role deleted since (or never created: moto's STS assumes any
                # ARN) holds no policies, so AWS denies its every call by name
                return PrincipalPolicies()
            docs = [(f"role/{entity.name} inline {n}", d) for n, d in entity.policies.items()]
            groups: list[Any] = []
        else:
            entity = iam.get_user(principal.arn.rsplit("/", 1)[-1])
            docs = [(f"user/{entity.name} inline {n}", d) for n, d in entity.policies.items()]
            groups = list(iam.get_groups_for_user(entity.name))
        for group in groups:
            docs += [(f"group/{group.name} inline {n}", d) for n, d in group.policies.items()]
        managed = list(entity.managed_policies.values())
        for group in groups:
            managed += list(group.managed_policies.values())
        docs += [(f"managed {p.arn}", _default_document(p)) for p in managed]
        boundary = None
        boundary_arn = getattr(entity, "permissions_boundary_arn", None)
        if boundary_arn:
            boundary = _parsed(
                _default_document(iam.get_policy(boundary_arn)), f"boundary {boundary_arn}"
            )
        return PrincipalPolicies(
            identity=tuple(_parsed(_text(d), name) for name, d in docs),
            boundary=boundary,
            tags=tag_dict(getattr(entity, "tags", None)),
        )

    # --- resolvers -------------------------------------------------------------------------
    def _stack_arn(self, name: str, where: Where) -> str | None:
        if name.startswith("arn:"):
            return name
        for stack in _backend("cloudformation", where).stacks.values():
            if stack.name == name and stack.status != "DELETE_COMPLETE":
                return str(stack.stack_id)
        # no such stack (yet): AWS authorizes the name with any stack id
        return f"arn:{where.partition}:cloudformation:{where.region}:{where.account}:stack/{name}/*"

    def _secret(self, secret_id: str, where: Where) -> Any:
        where = _where_of(secret_id, where) if secret_id.startswith("arn:") else where
        return _backend("secretsmanager", where).secrets.get(secret_id)

    def _secret_arn(self, secret_id: str, where: Where) -> str | None:
        secret = self._secret(secret_id, where)
        return str(secret.arn) if secret is not None else None

    def _secret_kms_key(self, secret_id: str, where: Where) -> str | None:
        secret = self._secret(secret_id, where)
        if secret is None or not getattr(secret, "kms_key_id", None):
            return None
        return self._kms_key_arn(str(secret.kms_key_id), _where_of(str(secret.arn), where))

    def _kms_key_arn(self, key_id: str, where: Where) -> str | None:
        if any(key_id.split(":")[-1].startswith(a) for a in AWS_MANAGED_KEY_ALIASES):
            return None
        where = _where_of(key_id, where) if key_id.startswith("arn:") else where
        key = _backend("kms", where).describe_key(key_id)
        return str(key.arn)

    def _role(self, name: str, where: Where) -> Any:
        iam = _backend("iam", where)
        return iam.get_role_by_arn(name) if name.startswith("arn:") else iam.get_role(name)

    def _role_arn(self, name: str, where: Where) -> str | None:
        return str(self._role(name, where).arn)

    def _role_boundary(self, name: str, where: Where) -> str | None:
        return self._role(name, where).permissions_boundary_arn

    def _instance_profile_arn(self, name: str, where: Where) -> str | None:
        return str(_backend("iam", where).get_instance_profile(name).arn)

    def _parameter(self, name: str, where: Where) -> Any:
        if name.startswith("arn:"):
            where = _where_of(name, where)
            name = "/" + name.split(":parameter/", 1)[1]
        return _backend("ssm", where).get_parameter(name)

    def _parameter_arn(self, name: str, where: Where) -> str | None:
        parameter = self._parameter(name, where)
        if parameter is None:
            return None
        path = parameter.name.lstrip("/")
        return f"arn:{where.partition}:ssm:{where.region}:{where.account}:parameter/{path}"

    def _parameter_kms_key(self, name: str, where: Where) -> str | None:
        parameter = self._parameter(name, where)
        if parameter is None or parameter.parameter_type != "SecureString" or not parameter.keyid:
            return None
        return self._kms_key_arn(str(parameter.keyid), where)

    def _subnet_of_acl_association(self, association_id: str, where: Where) -> str | None:
        for acl in _backend("ec2", where).network_acls.values():
            for assoc_id, assoc in acl.associations.items():
                if assoc_id == association_id:
                    return str(assoc.subnet_id)
        return None

    def _attachment(self, attachment_id: str, where: Where) -> Any:
        for eni in _backend("ec2", where).enis.values():
            if getattr(eni, "attachment_id", None) == attachment_id:
                return eni
        return None

    def _instance_of_eni_attachment(self, attachment_id: str, where: Where) -> str | None:
        eni = self._attachment(attachment_id, where)
        return str(eni.instance.id) if eni is not None and eni.instance is not None else None

    def _eni_of_attachment(self, attachment_id: str, where: Where) -> str | None:
        eni = self._attachment(attachment_id, where)
        return str(eni.id) if eni is not None else None

    def _allocation_of_eip_association(self, association_id: str, where: Where) -> str | None:
        for address in _backend("ec2", where).addresses:
            if address.association_id == association_id:
                return str(address.allocation_id)
        return None

    def _snapshot_attr(self, attribute: str) -> Callable[[str, Where], str | None]:
        def read(snapshot_id: str, where: Where) -> str | None:
            rds = _backend("rds", where)
            snapshot = rds.describe_db_snapshots(None, snapshot_id)[0]
            try:
                value = getattr(snapshot.database, attribute, None)
            except NotImplementedError:  # moto's write-only property (db_subnet_group_name)
                value = vars(snapshot.database).get(f"_{attribute}")
            return str(value) if value else None

        return read

    def _machine_tags(self, arn: str, where: Where) -> dict[str, str]:
        """The backend Step Functions really uses (the executing one in the local cloud)."""
        from moto.stepfunctions.responses import get_backend

        backend = get_backend(where.account, where.region)
        return tag_dict(backend.get_tags_list_for_state_machine(arn))

    def _parameter_tags(self, arn: str, where: Where) -> dict[str, str]:
        """An SSM parameter's tags (its ARN drops the name's leading slash)."""
        if ":parameter/" not in arn:
            return {}
        parameter = self._parameter(arn, where)
        if parameter is None:
            return {}
        return dict(_backend("ssm", where).list_tags_for_resource("Parameter", parameter.name))

    # --- tags ------------------------------------------------------------------------------
    def _tag_readers(self) -> dict[str, Callable[[str, Where], dict[str, str]]]:
        return {
            "rds": lambda arn, w: tag_dict(_backend("rds", w).list_tags_for_resource(arn)),
            "ec2": lambda arn, w: tag_dict(_backend("ec2", w).tags.get(arn.rsplit("/", 1)[-1], {})),
            "s3": lambda arn, w: (
                _backend("s3", w).get_bucket_tagging(arn.split(":::", 1)[1].split("/", 1)[0])
                if "/" not in arn.split(":::", 1)[1]
                else {}
            ),
            "lambda": lambda arn, w: dict(_backend("lambda", w).list_tags(arn)),
            "secretsmanager": lambda arn, w: tag_dict(self._secret(arn, w).tags),
            "kms": lambda arn, w: tag_dict(
                _backend("kms", w).list_resource_tags(arn).get("Tags", [])
            ),
            "cloudformation": lambda arn, w: dict(
                _backend("cloudformation", w).get_stack(arn).tags or {}
            ),
            "elasticloadbalancing": lambda arn, w: dict(
                _backend("elbv2", w).tagging_service.get_tag_dict_for_resource(arn)
            ),
            "dms": lambda arn, w: dict(_backend("dms", w).tagger.get_tag_dict_for_resource(arn)),
            "states": self._machine_tags,
            "ssm": self._parameter_tags,
            "iam": lambda arn, w: tag_dict(self._role(arn, w).tags) if ":role/" in arn else {},
        }


def _text(document: Any) -> str:
    """A policy document as text: moto keeps a CloudFormation role's inline policies as dicts."""
    return document if isinstance(document, str) else json.dumps(document)


def _default_document(policy: Any) -> str:
    for version in policy.versions:
        if version.is_default:
            document = version.document
            return document if isinstance(document, str) else json.dumps(document)
    raise LookupError(f"policy {policy.arn} has no default version")
