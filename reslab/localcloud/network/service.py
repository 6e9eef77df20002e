"""The network model in the running local cloud: one switchboard, one resolver, the callers' tokens.

A service of the cloud context (``cloud_context.service("network", ...)``): :func:`network`
creates it on first use; ``reset()``/``shutdown()`` close every gate and the resolver.

Tokens name a caller (what ``RESLAB_NET_CALLER`` carries): ``lambda:<function arn>#<subnet id>``
(one execution environment in one subnet of the function's ``VpcConfig``; ``#-`` outside any
VPC), ``instance:<region>:<instance id>``, ``internet``. :meth:`NetworkService.decide` rebuilds
the caller and the destination from moto's state at every call, so a change made by any path
(the API, CloudFormation) counts at the next re-evaluation (``compat.network``).

Enforcement is on unless ``RESLAB_LOCAL_NETWORK=off`` (:func:`enabled`); off, the local cloud
behaves as before issue 12 (every process reaches every database at its backing address).
"""

from __future__ import annotations

import os
import threading
from typing import Any

from reslab.dburl import DbTarget
from reslab.localcloud.context import cloud_context
from reslab.localcloud.network.gate import TcpUpstream, UnixUpstream, Upstream
from reslab.localcloud.network.parties import (
    Attachment,
    Internet,
    Source,
    database_placement,
    instance_caller,
    lambda_caller,
)
from reslab.localcloud.network.reach import database_decision, service_decision
from reslab.localcloud.network.resolver import (
    Resolution,
    Resolver,
    ResolverServer,
    caller_environment,
)
from reslab.localcloud.network.switchboard import Destination, Switchboard
from reslab.localcloud.network.verdict import Decision, Hop, MissingResource, Verdict

#: ``off`` turns enforcement off for the local clouds started afterwards.
ENABLE_VARIABLE = "RESLAB_LOCAL_NETWORK"
_SERVICE = "network"
#: The APIs a VPC-attached caller's children reach through their own gate, by botocore's
#: service-specific endpoint variable (``AWS_ENDPOINT_URL_<SUFFIX>``) -> the endpoint service
#: name (``com.amazonaws.<region>.<name>``) that serves it. Every other API: ``AWS_ENDPOINT_URL``.
API_VARIABLES: dict[str, str] = {
    "S3": "s3",
    "RDS": "rds",
    "SECRETS_MANAGER": "secretsmanager",
    "SSM": "ssm",
    "STS": "sts",
    "KMS": "kms",
    "CLOUDWATCH_LOGS": "logs",
    "SFN": "states",
    "CLOUDFORMATION": "cloudformation",
    "LAMBDA": "lambda",
    "EC2": "ec2",
    "SCHEDULER": "scheduler",
    "SNS": "sns",
    "SQS": "sqs",
}
#: The destination key of "every other API" (no endpoint service is named after it).
OTHER_APIS = "other-apis"
_DEFAULT_ACCOUNT = "123456789012"


def enabled() -> bool:
    return os.environ.get(ENABLE_VARIABLE, "on").strip().lower() not in ("off", "0", "false")


def refused(step: str, resource: str, detail: str) -> Decision:
    verdict = Verdict(False, (Hop(step, resource, detail),))
    return Decision(verdict, verdict)


def moto_address(db: Any) -> str:
    """moto's DNS-shaped endpoint of an RDS instance (what AWS's endpoints look like)."""
    return f"{db.db_instance_identifier}.aaaaaaaaaa.{db.region}.rds.amazonaws.com"


def _databases() -> list[tuple[str, str, Any]]:
    from moto.rds.models import rds_backends

    found = []
    for account, regions in list(rds_backends.items()):
        for region, backend in list(regions.items()):
            found += [(account, region, db) for db in list(backend.databases.values())]
    return found


def find_database(name: str) -> tuple[str, str, Any] | None:
    """(account, region, moto DBInstance) whose endpoint is ``name``."""
    name = name.rstrip(".").lower()
    return next((found for found in _databases() if moto_address(found[2]).lower() == name), None)


def backing_target(host: str) -> DbTarget | None:
    """The real database behind an endpoint name: the local cloud's own machinery (DMS, the
    web tier until its instances resolve as callers) reaches it directly, as AWS's services do."""
    from reslab.localcloud.compat.rds import target_of

    found = find_database(host) if host.endswith(".rds.amazonaws.com") else None
    return target_of(found[2]) if found else None


def _upstream(target: DbTarget) -> Upstream:
    if target.socket_dir:
        return UnixUpstream(f"{target.socket_dir}/.s.PGSQL.{target.port}")
    return TcpUpstream(target.host, target.port)


def lambda_token(fn: Any, index: int) -> str:
    """The token of an execution environment of ``fn``: its ``index``-th environment runs in
    the ``index``-th subnet of ``VpcConfig``, round robin (as AWS spreads them)."""
    subnets = list((fn.vpc_config or {}).get("SubnetIds") or ())
    return f"lambda:{fn.function_arn}#{subnets[index % len(subnets)] if subnets else '-'}"


_placements: dict[str, int] = {}
_placements_lock = threading.Lock()


def lambda_environment(fn: Any, env: dict[str, str]) -> dict[str, str]:
    """A Lambda child's environment ``env`` with its network identity: the resolver shim as one
    execution environment of ``fn`` (the subnets of ``VpcConfig`` taken in turn, one per new
    environment, as AWS spreads them), and for a VPC-attached function its own gates to the
    AWS APIs. ``env`` unchanged when enforcement is off."""
    net = network()
    if net is None:
        return env
    with _placements_lock:
        index = _placements[fn.function_arn] = _placements.get(fn.function_arn, -1) + 1
    token = lambda_token(fn, index)
    env = net.caller_env(token, env)
    if (fn.vpc_config or {}).get("SubnetIds"):
        env.update(net.api_env(token, fn.region))
    return env


def instance_environment(region: str, instance_id: str, env: dict[str, str]) -> dict[str, str]:
    """An EC2 instance's processes' environment ``env`` with the resolver shim as that
    instance (the web tier's hook: its user data and web app resolve the endpoint as the
    instance); ``env`` unchanged when enforcement is off."""
    net = network()
    return env if net is None else net.caller_env(f"instance:{region}:{instance_id}", env)


class SerialisedResolver(Resolver):
    """Decides under the local cloud's request lock (``decide`` reads moto's state)."""

    def resolve(self, caller: str, name: str) -> Resolution | None:
        from reslab.localcloud.serialise import serialised

        with serialised():
            return super().resolve(caller, name)


class NetworkService:
    def __init__(self) -> None:
        self.switchboard = Switchboard(self.decide)
        self.resolver = SerialisedResolver(self.switchboard, self.lookup)
        self.server = ResolverServer(self.resolver)
        self._dirty = False
        self._lock = threading.Lock()

    # -- the model ----------------------------------------------------------------------------
    def decide(self, token: str, destination: Destination) -> Decision:
        from moto.ec2.models import ec2_backends

        try:
            source, account, caller_region = self._source(token)
            kind, region, name = destination.key.split(":", 2)
            ec2 = ec2_backends[account][region]
            caller_ec2 = ec2_backends[account][caller_region] if caller_region else ec2
            if kind == "db":
                from moto.rds.models import rds_backends

                db = rds_backends[account][region].databases.get(name)
                if db is None:
                    return refused("resource", name, "the database does not exist")
                placement = database_placement(db, ec2)
                return database_decision(caller_ec2, source, placement, db_ec2=ec2)
            if isinstance(source, Internet) or region != caller_region:
                # endpoints serve their own region only: another region's API over the internet
                return (
                    service_decision(ec2, Internet(), name, region)
                    if isinstance(source, Internet)
                    else service_decision(caller_ec2, source, OTHER_APIS, region)
                )
            return service_decision(caller_ec2, source, name, region)
        except MissingResource as exc:
            return refused("resource", str(exc), "does not exist")

    def _source(self, token: str) -> tuple[Source, str, str | None]:
        """(source, account, the caller's region; None on the internet)."""
        if token.startswith("lambda:"):
            arn, _, subnet = token[len("lambda:") :].partition("#")
            parts = arn.split(":")
            account, region, name = parts[4], parts[3], parts[6]
            from moto.awslambda.models import lambda_backends

            try:
                fn = lambda_backends[account][region].get_function(name)
            except Exception:  # noqa: BLE001 - moto's not-found
                raise MissingResource("Lambda function", name) from None
            sources = lambda_caller(fn).sources
            chosen = next(
                (s for s in sources if isinstance(s, Attachment) and s.subnet_id == subnet),
                sources[0],
            )
            return chosen, account, None if isinstance(chosen, Internet) else region
        if token.startswith("instance:"):
            _, region, instance_id = token.split(":", 2)
            from moto.ec2.models import ec2_backends

            ec2 = ec2_backends[_DEFAULT_ACCOUNT][region]
            try:
                instance = ec2.get_instance(instance_id)
            except Exception:  # noqa: BLE001 - moto's InvalidInstanceID
                raise MissingResource("instance", instance_id) from None
            return instance_caller(instance).sources[0], _DEFAULT_ACCOUNT, region
        return Internet(), _DEFAULT_ACCOUNT, None

    def lookup(self, name: str) -> Destination | None:
        from reslab.localcloud.compat.rds import target_of

        found = find_database(name)
        if found is None:
            return None
        _account, region, db = found
        target = target_of(db)
        if target is None:
            return None
        return Destination(
            f"db:{region}:{db.db_instance_identifier}", int(db.port), _upstream(target)
        )

    # -- callers ------------------------------------------------------------------------------
    def caller_env(self, token: str, base: dict[str, str]) -> dict[str, str]:
        """``base`` with the resolver shim for ``token``."""
        return caller_environment(self.server.url, token, base)

    def api_env(self, token: str, region: str) -> dict[str, str]:
        """``AWS_ENDPOINT_URL_<SERVICE>`` and ``AWS_ENDPOINT_URL`` of a VPC-attached caller:
        one gate per API, following ``service_verdict``."""
        host, port = _endpoint_host_port()
        upstream = TcpUpstream(host, port)
        env = {}
        for suffix, service in {**API_VARIABLES, "": OTHER_APIS}.items():
            line = self.switchboard.dial(token, Destination(f"api:{region}:{service}", 0, upstream))
            address, gate_port = line.address
            variable = f"AWS_ENDPOINT_URL_{suffix}" if suffix else "AWS_ENDPOINT_URL"
            env[variable] = f"http://{address}:{gate_port}"
        return env

    # -- keeping the gates in step ------------------------------------------------------------
    def mark_dirty(self) -> None:
        self._dirty = True

    def reevaluate_if_dirty(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self.switchboard.reevaluate()

    def hang_up(self, region: str, instance_id: str) -> None:
        self.switchboard.hang_up(f"db:{region}:{instance_id}")

    def reset(self) -> None:
        self.switchboard.close()
        self.switchboard = Switchboard(self.decide)
        self.resolver.switchboard = self.switchboard

    def shutdown(self) -> None:
        self.server.close()
        self.switchboard.close()


def _endpoint_host_port() -> tuple[str, int]:
    from urllib.parse import urlsplit

    parts = urlsplit(cloud_context.endpoint_url)
    return parts.hostname or "127.0.0.1", int(parts.port or 80)


def network() -> NetworkService | None:
    """The running local cloud's network service, None when enforcement is off."""
    if not enabled() or not cloud_context.endpoint_url:
        return None
    service: NetworkService = cloud_context.service(_SERVICE, NetworkService)
    return service


def existing() -> NetworkService | None:
    """The network service if one was started (never creates one)."""
    service = cloud_context.services.get(_SERVICE)
    return service if isinstance(service, NetworkService) else None
