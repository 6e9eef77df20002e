"""What AWS reports about the web instances, from the instances the web tier booted (gaps 54, 55).

* ``DescribeTargetHealth``: moto calls every registered instance ``healthy``. A target of a group
  the web tier booted is ``unhealthy`` (``Target.FailedHealthChecks``, "Health checks failed")
  when its user data failed, its app never answered ``/healthcheck``, or its service has stopped
  since; otherwise moto's answer stands.
* ``GetConsoleOutput``: moto returns a fixed 2006 kernel log. An instance of a booted group gets
  the user data's output (the last 64 KiB, base64 as AWS sends it): the bootstrap's own log and,
  for an unhealthy instance, the local cloud's last line naming why.

The group's instances share the one booted instance's health and log (``webtier.py``).
"""

from __future__ import annotations

from typing import Any

#: AWS keeps the most recent 64 KiB of an instance's console output.
CONSOLE_BYTES = 64 * 1024
_installed = False


def _target_health(original: Any) -> Any:
    def health_for(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
        from moto.elbv2.models import FakeHealthStatus

        from reslab.localcloud.webtier import running_tier

        status = original(self, target, ec2_backend)
        tier = running_tier()
        app = tier.for_target_group(self.arn) if tier is not None else None
        if status.status != "healthy" or app is None or target["Id"] not in app.instance_ids:
            return status
        if app.instance.healthy and app.instance.unit_running():
            return status
        return FakeHealthStatus(
            status.instance_id,
            status.port,
            status.health_check_port,
            "unhealthy",
            "Target.FailedHealthChecks",
            "Health checks failed",
        )

    return health_for


def _console_output(original: Any) -> Any:
    def get_console_output(self: Any) -> Any:
        from moto.core.responses import ActionResult
        from moto.core.utils import utcnow
        from moto.ec2.utils import Base64EncodedString

        from reslab.localcloud.webtier import running_tier

        instance_id = self._get_param("InstanceId")
        tier = running_tier()
        app = tier.for_instance(instance_id) if tier is not None else None
        if app is None:
            return original(self)
        instance = self.ec2_backend.get_instance(instance_id)
        log = app.instance.console_log
        raw = log.read_bytes()[-CONSOLE_BYTES:] if log.exists() else b""
        output = Base64EncodedString.from_raw_string(raw.decode(errors="replace"))
        return ActionResult({"InstanceId": instance.id, "Timestamp": utcnow(), "Output": output})

    return get_console_output


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.ec2.responses.general import General
    from moto.elbv2.models import FakeTargetGroup

    FakeTargetGroup.health_for = _target_health(FakeTargetGroup.health_for)  # type: ignore[method-assign]
    General.get_console_output = _console_output(General.get_console_output)  # type: ignore[method-assign]
    _installed = True
