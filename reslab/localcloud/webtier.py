"""The web tier, real: a web stack's instances run their user data; the load balancer serves them.

When a CloudFormation stack containing an ``AWS::ElasticLoadBalancingV2::LoadBalancer`` and an
Auto Scaling group has been created, the group's first instance boots (:mod:`.userdata`): the
launch template's user data as CloudFormation rendered it runs under bash -- it fetches the
bootstrap object from the boot bucket and runs it, which downloads ``webapp.tar.gz``, creates the
table, places the website image and starts the web app (gunicorn, through the ``systemctl``
shim) on the instance's port -- and the load balancer's DNSName becomes ``127.0.0.1:<port>``, so
the stack output ``WebsiteURL`` (``http://${LoadBalancer.DNSName}/``) serves it. One booted
instance per group stands for all of them (they would run the same user data): the group's other
instances report its health and console output. It stops when the stack is deleted or the cloud
stops.

A bootstrap that fails (a missing object, a wrong key, a denied read, a bad argument) leaves the
instance unhealthy: nothing serves the port, ``DescribeTargetHealth`` says ``unhealthy`` and
``GetConsoleOutput`` has the user data's output (``compat/instances.py``); the stack itself
completes, as on AWS (CloudFormation does not wait for the instances' health).

An update of the stack (``reslab mode resilient``) boots a new instance with the new user data on
the same port, so ``WebsiteURL`` keeps working (on AWS the Auto Scaling group replaces its
instances one by one).
"""

from __future__ import annotations

import itertools
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reslab.errors import LocalCloudError
from reslab.localcloud.context import cloud_context
from reslab.localcloud.serialise import released
from reslab.localcloud.userdata.instance import Instance, LaunchSpec, boot

LB_TYPE = "AWS::ElasticLoadBalancingV2::LoadBalancer"
ASG_TYPE = "AWS::AutoScaling::AutoScalingGroup"


@dataclass
class WebApp:
    """A web stack's booted instance and what points at it."""

    stack_id: str
    instance: Instance
    #: Every instance of the group (the booted one first): they share its health and log.
    instance_ids: tuple[str, ...]
    target_group_arns: tuple[str, ...]

    @property
    def port(self) -> int:
        return self.instance.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def log_path(self) -> Path:
        return self.instance.console_log


@dataclass(frozen=True)
class Launch:
    """What a web stack asks of the tier: the instance to boot and who reports on it."""

    spec: LaunchSpec
    instance_ids: tuple[str, ...]
    target_group_arns: tuple[str, ...]


class WebTier:
    """The booted instances; booting or stopping one steps out of the request lock (the user
    data calls the local cloud, and takes seconds)."""

    def __init__(self, state_dir: Path) -> None:
        self.root_dir = state_dir / "web"
        self.apps: dict[str, WebApp] = {}
        #: Instance directories are numbered: an update boots the same instance id again.
        self._numbers = itertools.count()

    def start(self, stack_id: str, launch: Launch, port: int = 0) -> WebApp:
        with released():
            return self._start(stack_id, launch, port)

    def restart(self, stack_id: str, launch: Launch) -> WebApp:
        """The stack's instance replaced by one booted from ``launch``, on the port it had."""
        old = self.apps.pop(stack_id, None)
        with released():
            if old is not None:
                old.instance.stop()
            return self._start(stack_id, launch, old.port if old else 0)

    def _start(self, stack_id: str, launch: Launch, port: int) -> WebApp:
        root = self.root_dir / f"{next(self._numbers)}-{launch.spec.instance_id}"
        instance = boot(launch.spec, root, port or _free_port())
        app = WebApp(stack_id, instance, launch.instance_ids, launch.target_group_arns)
        self.apps[stack_id] = app
        return app

    def for_instance(self, instance_id: str) -> WebApp | None:
        return next((a for a in self.apps.values() if instance_id in a.instance_ids), None)

    def for_target_group(self, arn: str) -> WebApp | None:
        return next((a for a in self.apps.values() if arn in a.target_group_arns), None)

    def stop(self, stack_id: str) -> None:
        app = self.apps.pop(stack_id, None)
        if app is None:
            return
        with released():
            app.instance.stop()

    def reset(self) -> None:
        for stack_id in list(self.apps):
            self.stop(stack_id)

    def shutdown(self) -> None:
        self.reset()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tier() -> WebTier:
    state_dir = cloud_context.state_dir
    if state_dir is None:
        raise LocalCloudError("the local cloud is not running")
    return cloud_context.service("web", lambda: WebTier(state_dir))


def running_tier() -> WebTier | None:
    """The web tier if the cloud has one (for the read-only patches: no tier is created)."""
    if cloud_context.state_dir is None:
        return None
    service = cloud_context.services.get("web")
    return service if isinstance(service, WebTier) else None


# -- stack hooks -------------------------------------------------------------------------------
def _resources_of_type(stack: Any, cfn_type: str) -> list[Any]:
    out = []
    for logical_id, spec in (stack.template_dict.get("Resources") or {}).items():
        if spec.get("Type") == cfn_type:
            resource = stack.resource_map._parsed_resources.get(logical_id)
            if resource is not None and not isinstance(resource, str):
                out.append(resource)
    return out


def launch_of(stack: Any) -> Launch | None:
    """The stack's Auto Scaling group's first instance, launched from its launch template's
    latest version; None without a group, instances or user data."""
    for asg in _resources_of_type(stack, ASG_TYPE):
        template = getattr(asg, "ec2_launch_template", None)
        instances = [state.instance for state in getattr(asg, "instance_states", [])]
        if template is None or not instances:
            continue
        # web.yaml's group follows LatestVersionNumber: an update's new version is the one
        # launched (moto keeps the group's version as it was resolved at creation).
        data = template.latest_version().data
        user_data = data.get("UserData")
        if not user_data:
            continue
        text = user_data.decode() if hasattr(user_data, "decode") else str(user_data)
        first = instances[0]
        spec = LaunchSpec(
            instance_id=first.id,
            availability_zone=first.availability_zone or f"{stack.region_name}a",
            region=stack.region_name,
            user_data=text,
            profile_arn=(data.get("IamInstanceProfile") or {}).get("Arn"),
            endpoint_url=cloud_context.endpoint_url,
            time_scale=cloud_context.time_scale,
        )
        return Launch(
            spec,
            tuple(i.id for i in instances),
            tuple(getattr(asg, "target_group_arns", None) or ()),
        )
    return None


def _refresh_outputs(stack: Any) -> None:
    from moto.cloudformation.models import cloudformation_backends

    stack.output_map._parsed_outputs.clear()
    backend = cloudformation_backends[stack.account_id][stack.region_name]
    for export in stack.exports:
        backend.exports[export.name] = export


def on_stack_created(stack: Any) -> None:
    lbs = _resources_of_type(stack, LB_TYPE)
    launch = launch_of(stack) if lbs else None
    if launch is None:
        return
    app = tier().start(stack.stack_id, launch)
    for lb in lbs:
        lb.dns_name = f"127.0.0.1:{app.port}"
    _refresh_outputs(stack)


def on_stack_updated(stack: Any) -> None:
    if stack.stack_id not in tier().apps:
        return
    launch = launch_of(stack)
    if launch is not None:
        tier().restart(stack.stack_id, launch)
        _refresh_outputs(stack)


def on_stack_deleting(stack: Any) -> None:
    if cloud_context.state_dir is not None and "web" in cloud_context.services:
        tier().stop(stack.stack_id)


def install() -> None:
    from reslab.localcloud.compat.cloudformation import stack_lifecycle

    if on_stack_created not in stack_lifecycle.AFTER_CREATE:
        stack_lifecycle.AFTER_CREATE.append(on_stack_created)
        stack_lifecycle.AFTER_UPDATE.append(on_stack_updated)
        stack_lifecycle.BEFORE_DELETE.append(on_stack_deleting)


__all__ = ["WebTier", "install", "on_stack_created", "on_stack_deleting", "on_stack_updated"]
