"""The web tier, real: a web stack's load balancer serves the real web app on 127.0.0.1.

When a CloudFormation stack containing an ``AWS::ElasticLoadBalancingV2::LoadBalancer`` has been
created, ``python -m webapp.schema`` creates the table (as the EC2 bootstrap does), then
``python -m webapp --port 0 --host 127.0.0.1`` starts with ``WEBAPP_DB_URL`` (the backing
database, found through the stack's ``MasterUserSecretArn`` parameter, else its
``EndpointAddress``), ``WEBAPP_INSTANCE_ID``/``WEBAPP_AZ`` of the first instance of the stack's
Auto Scaling group, and the load balancer's DNSName becomes ``127.0.0.1:<port>`` -- so the
stack output ``WebsiteURL`` (``http://${LoadBalancer.DNSName}/``) serves it. One app process per
load balancer (not per instance). It stops when the stack is deleted or the cloud stops.

The stack's ``WebAppMode`` parameter becomes ``WEBAPP_MODE``, ``Workshop`` the page's lab name,
and ``WebsiteBucketName``/``WebsiteImageKey`` the picture (``python -m webapp.image`` puts it in
the bucket first, as the bootstrap does; the page links it with a URL presigned for this local
cloud, so the browser reads it from the local S3 and ``reslab inject s3`` breaks it).

An update of the stack (``reslab mode resilient``) restarts the app with the new parameters on
the same port, so ``WebsiteURL`` keeps working (on AWS the Auto Scaling group replaces its
instances one by one).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from reslab.dburl import DbTarget
from reslab.errors import LocalCloudError
from reslab.localcloud import dbbacking
from reslab.localcloud.context import cloud_context
from reslab.localcloud.network.service import backing_target
from reslab.localcloud.serialise import released

LB_TYPE = "AWS::ElasticLoadBalancingV2::LoadBalancer"
ASG_TYPE = "AWS::AutoScaling::AutoScalingGroup"
START_TIMEOUT_S = 30.0
_LISTENING = re.compile(r"listening on http://[^:\s]+:(\d+)")


@dataclass
class WebApp:
    stack_id: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


class WebTier:
    """The web apps; starting or stopping one steps out of the request lock (child processes
    that may call the local cloud, seconds of waiting)."""

    def __init__(self, state_dir: Path) -> None:
        self.log_dir = state_dir / "web"
        self.apps: dict[str, WebApp] = {}
        #: Log file numbers: apps start concurrently, and two sharing a log would read each
        #: other's "listening on" line.
        self._numbers = itertools.count()

    def start(self, stack_id: str, env: dict[str, str]) -> WebApp:
        with released():
            return self._start(stack_id, env)

    def restart(self, stack_id: str, env: dict[str, str]) -> WebApp:
        """The app of ``stack_id`` started again with ``env``, on the port it had."""
        old = self.apps.pop(stack_id, None)
        with released():
            if old is None:
                return self._start(stack_id, env)
            if old.process.poll() is None:
                _terminate(old)
            return self._start(stack_id, env, port=old.port)

    def _start(self, stack_id: str, env: dict[str, str], port: int = 0) -> WebApp:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{next(self._numbers)}-{int(time.time())}.log"
        with open(log_path, "wb") as log:
            # What bootstrap/bootstrap.sh does on EC2 before starting the app.
            subprocess.run(
                [sys.executable, "-m", "webapp.schema", "--wait", "30"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                timeout=60,
                check=False,
            )
            if env.get("WEBAPP_IMAGE_BUCKET"):
                subprocess.run(
                    [sys.executable, "-m", "webapp.image"],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    timeout=60,
                    check=False,
                )
            proc = subprocess.Popen(
                [sys.executable, "-m", "webapp", "--port", str(port), "--host", "127.0.0.1"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        app = WebApp(stack_id, proc, _wait_for_port(proc, log_path), log_path)
        self.apps[stack_id] = app
        return app

    def stop(self, stack_id: str) -> None:
        app = self.apps.pop(stack_id, None)
        if app is None or app.process.poll() is not None:
            return
        with released():
            _terminate(app)

    def reset(self) -> None:
        for stack_id in list(self.apps):
            self.stop(stack_id)

    def shutdown(self) -> None:
        self.reset()


def _terminate(app: WebApp) -> None:
    os.killpg(app.process.pid, signal.SIGTERM)
    try:
        app.process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(app.process.pid, signal.SIGKILL)
        app.process.wait()


def _wait_for_port(proc: subprocess.Popen[bytes], log_path: Path) -> int:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        match = _LISTENING.search(log_path.read_text(errors="replace"))
        if match:
            return int(match.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
    tail = log_path.read_text(errors="replace")[-600:]
    raise LocalCloudError(f"the web app did not start (see {log_path}): {tail}")


def tier() -> WebTier:
    state_dir = cloud_context.state_dir
    if state_dir is None:
        raise LocalCloudError("the local cloud is not running")
    return cloud_context.service("web", lambda: WebTier(state_dir))


# -- stack hooks -------------------------------------------------------------------------------
def _resources_of_type(stack: Any, cfn_type: str) -> list[Any]:
    out = []
    for logical_id, spec in (stack.template_dict.get("Resources") or {}).items():
        if spec.get("Type") == cfn_type:
            resource = stack.resource_map._parsed_resources.get(logical_id)
            if resource is not None and not isinstance(resource, str):
                out.append(resource)
    return out


def _db_target(stack: Any) -> DbTarget | None:
    params = stack.resource_map.resolved_parameters
    secret_arn = params.get("MasterUserSecretArn")
    if secret_arn:
        from moto.secretsmanager.models import secretsmanager_backends

        region = secret_arn.split(":")[3]
        backend = secretsmanager_backends[stack.account_id][region]
        doc = json.loads(backend.get_secret_value(secret_arn, None, None)["SecretString"])
        real = backing_target(str(doc.get("host", "")))
        if real is not None:  # an endpoint name (network model): the backing, until step 4
            return replace(real, user=doc["username"], password=doc["password"])
        if {"engine", "host", "port", "dbname"} <= doc.keys():
            socket = doc["host"] if str(doc["host"]).startswith("/") else None
            return DbTarget(
                engine=doc["engine"],
                host=doc["host"],
                port=int(doc["port"]),
                user=doc["username"],
                password=doc["password"],
                dbname=doc["dbname"],
                socket_dir=socket,
            )
    address = params.get("EndpointAddress")
    if backing_target(str(address or "")) is not None:
        return backing_target(str(address))
    store = dbbacking.backing()
    for instance_id in list(store._instances):
        target = store.target_for(instance_id)
        if target is not None and address in (target.host, target.socket_dir):
            return target
    return None


def _instance_env(stack: Any) -> dict[str, str]:
    for asg in _resources_of_type(stack, ASG_TYPE):
        for state in getattr(asg, "instance_states", []):
            inst = state.instance
            return {"WEBAPP_INSTANCE_ID": inst.id, "WEBAPP_AZ": inst.availability_zone or ""}
    return {"WEBAPP_INSTANCE_ID": "i-local", "WEBAPP_AZ": f"{stack.region_name}a"}


def app_env(stack: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WEBAPP_"))}
    env.update(_instance_env(stack))
    env.update(
        {
            "AWS_ENDPOINT_URL": cloud_context.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",  # noqa: S105 - moto's fake credentials
            "AWS_REGION": stack.region_name,
            "AWS_DEFAULT_REGION": stack.region_name,
        }
    )
    target = _db_target(stack)
    if target is not None:
        env["WEBAPP_DB_URL"] = target.url()
    params = stack.resource_map.resolved_parameters
    image = params.get("WebsiteImageURL")
    if image:
        env["WEBAPP_IMAGE_URL"] = str(image)
    if params.get("WebAppMode"):
        env["WEBAPP_MODE"] = str(params["WebAppMode"])
    if params.get("Workshop"):
        env["WEBAPP_WORKSHOP"] = str(params["Workshop"])
    if params.get("WebsiteBucketName") and params.get("WebsiteImageKey"):
        env["WEBAPP_IMAGE_BUCKET"] = str(params["WebsiteBucketName"])
        env["WEBAPP_IMAGE_KEY"] = str(params["WebsiteImageKey"])
    return env


def _refresh_outputs(stack: Any) -> None:
    from moto.cloudformation.models import cloudformation_backends

    stack.output_map._parsed_outputs.clear()
    backend = cloudformation_backends[stack.account_id][stack.region_name]
    for export in stack.exports:
        backend.exports[export.name] = export


def on_stack_created(stack: Any) -> None:
    lbs = _resources_of_type(stack, LB_TYPE)
    if not lbs:
        return
    app = tier().start(stack.stack_id, app_env(stack))
    for lb in lbs:
        lb.dns_name = f"127.0.0.1:{app.port}"
    _refresh_outputs(stack)


def on_stack_updated(stack: Any) -> None:
    if _resources_of_type(stack, LB_TYPE) and stack.stack_id in tier().apps:
        tier().restart(stack.stack_id, app_env(stack))
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
