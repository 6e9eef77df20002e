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
completes, as on AWS (CloudFormation does not wait for the instances' health). A group whose
health check type is ``ELB`` then replaces its unhealthy instances, as Auto Scaling does once the
grace period (``HealthCheckGracePeriod`` / the cloud's time scale; none without one) has passed
since their launch: each is terminated and deregistered, a new one launched from the launch
template, which boots the user data again; ``DescribeScalingActivities`` shows both
(``compat/scaling_activities.py``, gap 70). AWS keeps replacing as long as the instances are
unhealthy; here a group is replaced :data:`MAX_REPLACEMENTS` times, then keeps its last
(unhealthy) instances.

An update of the stack (``reslab mode resilient``) boots a new instance with the new user data on
the same port, so ``WebsiteURL`` keeps working (on AWS the Auto Scaling group replaces its
instances one by one).
"""

from __future__ import annotations

import itertools
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reslab.errors import LocalCloudError
from reslab.localcloud.compat import scaling_activities
from reslab.localcloud.context import cloud_context
from reslab.localcloud.serialise import released, serialised
from reslab.localcloud.userdata.instance import Instance, LaunchSpec, boot

LB_TYPE = "AWS::ElasticLoadBalancingV2::LoadBalancer"
ASG_TYPE = "AWS::AutoScaling::AutoScalingGroup"
#: Replacements of a group's unhealthy instances before the local cloud gives up (AWS does not).
MAX_REPLACEMENTS = 1


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
class Group:
    """The Auto Scaling group behind a launch: what its health checks decide."""

    account_id: str
    region: str
    name: str
    #: ``ELB``: an instance the target group finds unhealthy is replaced; ``EC2``: it is not
    #: (its EC2 status checks pass whatever its user data did).
    health_check_type: str
    grace_period_s: float


@dataclass(frozen=True)
class Launch:
    """What a web stack asks of the tier: the instance to boot and who reports on it."""

    spec: LaunchSpec
    instance_ids: tuple[str, ...]
    target_group_arns: tuple[str, ...]
    group: Group | None = None

    @property
    def replaces_unhealthy(self) -> bool:
        return (
            self.group is not None
            and self.group.health_check_type == "ELB"
            and bool(self.target_group_arns)
        )


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
        """Boot the launch's instance; while it is unhealthy and the group replaces such
        instances (at most :data:`MAX_REPLACEMENTS` times), replace the group's instances and
        boot the new first one on the same port."""
        port = port or _free_port()
        app = self._boot(stack_id, launch, port)
        for _ in range(MAX_REPLACEMENTS if launch.replaces_unhealthy else 0):
            if app.instance.healthy or launch.group is None:
                break
            _wait_grace_period(launch.group, app.instance)
            app.instance.stop()
            with serialised():
                replaced = replace_unhealthy(launch)
            if replaced is None:  # the group is gone (its stack deleted meanwhile)
                break
            launch = replaced
            app = self._boot(stack_id, launch, port)
        return app

    def _boot(self, stack_id: str, launch: Launch, port: int) -> WebApp:
        root = self.root_dir / f"{next(self._numbers)}-{launch.spec.instance_id}"
        instance = boot(launch.spec, root, port)
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
        launch = _launch_of_group(asg)
        if launch is not None:
            return launch
    return None


def _launch_of_group(asg: Any) -> Launch | None:
    template = getattr(asg, "ec2_launch_template", None)
    instances = [state.instance for state in getattr(asg, "instance_states", [])]
    if template is None or not instances:
        return None
    # web.yaml's group follows LatestVersionNumber: an update's new version is the one
    # launched (moto keeps the group's version as it was resolved at creation).
    data = template.latest_version().data
    user_data = data.get("UserData")
    if not user_data:
        return None
    text = user_data.decode() if hasattr(user_data, "decode") else str(user_data)
    first = instances[0]
    spec = LaunchSpec(
        instance_id=first.id,
        availability_zone=first.availability_zone or f"{asg.region}a",
        region=asg.region,
        user_data=text,
        profile_arn=(data.get("IamInstanceProfile") or {}).get("Arn"),
        endpoint_url=cloud_context.endpoint_url,
        time_scale=cloud_context.time_scale,
    )
    group = Group(
        asg.account_id,
        asg.region,
        asg.name,
        str(asg.health_check_type or "EC2"),
        float(asg.health_check_grace_period or 0),
    )
    return Launch(
        spec,
        tuple(i.id for i in instances),
        tuple(getattr(asg, "target_group_arns", None) or ()),
        group,
    )


def _wait_grace_period(group: Group, instance: Instance) -> None:
    """Auto Scaling acts on a failed ELB health check once the grace period has passed since
    the launch: AWS's seconds / the cloud's time scale (none without one, as the ``sleep``
    shim)."""
    scale = cloud_context.time_scale
    if not scale:
        return
    remaining = group.grace_period_s / scale - (time.monotonic() - instance.launched_at)
    if remaining > 0:
        time.sleep(remaining)


def replace_unhealthy(launch: Launch) -> Launch | None:
    """Auto Scaling's answer to a failed ELB health check, for each instance of the launch
    (they share the booted one's health): terminate it, deregister it from the group's target
    groups, launch a new one from the launch template. The activities are recorded for
    ``DescribeScalingActivities``. The group's new launch, or None when the group is gone."""
    from moto.autoscaling.models import autoscaling_backends
    from moto.elbv2.models import elbv2_backends

    group = launch.group
    if group is None:
        return None
    backend = autoscaling_backends[group.account_id][group.region]
    asg = backend.autoscaling_groups.get(group.name)
    if asg is None:
        return None
    for instance_id in launch.instance_ids:
        before = {state.instance.id for state in asg.instance_states}
        if instance_id not in before:
            continue
        scaling_activities.record(
            asg,
            f"Terminating EC2 instance: {instance_id}",
            "an instance was taken out of service in response to an ELB system health check "
            "failure.",
        )
        backend.terminate_instance(instance_id, should_decrement=False)
        elbv2 = elbv2_backends[group.account_id][group.region]
        for arn in launch.target_group_arns:
            target_group = elbv2.target_groups.get(arn)
            if target_group is not None and instance_id in target_group.targets:
                target_group.deregister([{"Id": instance_id}])
        capacity = len(asg.instance_states)
        for state in asg.instance_states:
            if state.instance.id not in before:
                scaling_activities.record(
                    asg,
                    f"Launching a new EC2 instance: {state.instance.id}",
                    "an instance was started in response to a difference between desired and "
                    f"actual capacity, increasing the capacity from {capacity - 1} to {capacity}.",
                )
    return _launch_of_group(asg)


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
