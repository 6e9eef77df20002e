"""The web tier's health at the end of ``reslab deploy``: its target group's targets and, for an
unhealthy one, the tail of its console output (the user data's and bootstrap.sh's log).

On AWS the targets stay ``initial`` for the instances' first minutes (the bootstrap installs
Python and the app): that is reported as starting, not as a failure. In the local cloud the
instance has booted when the web stack completes, so ``unhealthy`` means its bootstrap failed
(docs/local-cloud.md, "Web tier").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reslab.clients import ClientFactory
from reslab.errors import ReslabError
from reslab_lambda.stacks import spec_for

TAIL_LINES = 12


class WebTierUnhealthy(ReslabError):
    """The web stack exists but its load balancer has no healthy instance to serve."""


@dataclass(frozen=True)
class WebHealth:
    states: dict[str, str]  # instance id -> target state (healthy, unhealthy, initial...)
    #: The console output's last lines of the first unhealthy instance ("" when none).
    log_tail: str = ""
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def unhealthy(self) -> list[str]:
        return [i for i, state in self.states.items() if state == "unhealthy"]

    @property
    def healthy(self) -> list[str]:
        return [i for i, state in self.states.items() if state == "healthy"]

    def line(self) -> str:
        counts = f"{len(self.healthy)}/{len(self.states)} targets healthy"
        if self.unhealthy and not self.healthy:
            return f"UNHEALTHY ({counts})"
        if len(self.healthy) == len(self.states):
            return f"healthy ({counts})"
        return f"starting ({counts})"


def web_health(
    clients: ClientFactory, event: Mapping[str, Any], web_outputs: Mapping[str, str]
) -> WebHealth | None:
    """None when the web stack has no target group output (not deployed)."""
    arn = web_outputs.get("TargetGroupArn")
    region = spec_for("web").region(event)
    if not arn or not region:
        return None
    described = clients("elbv2", region).describe_target_health(TargetGroupArn=arn)
    states, reasons = {}, {}
    for entry in described.get("TargetHealthDescriptions", []):
        target_id = entry["Target"]["Id"]
        states[target_id] = entry["TargetHealth"]["State"]
        reasons[target_id] = entry["TargetHealth"].get("Description") or ""
    health = WebHealth(states, reasons=reasons)
    if health.unhealthy:
        health = WebHealth(states, console_tail(clients, region, health.unhealthy[0]), reasons)
    return health


def console_tail(clients: ClientFactory, region: str, instance_id: str) -> str:
    # botocore decodes the base64 Output (its after-call handler for GetConsoleOutput)
    text = clients("ec2", region).get_console_output(InstanceId=instance_id).get("Output") or ""
    return "\n".join(text.splitlines()[-TAIL_LINES:])


def unhealthy_error(health: WebHealth) -> WebTierUnhealthy:
    first = health.unhealthy[0]
    last = health.log_tail.splitlines()[-1] if health.log_tail else health.reasons.get(first, "")
    return WebTierUnhealthy(
        f"no healthy instance behind the load balancer ({len(health.unhealthy)} unhealthy); "
        f"{first}: {last} (the bootstrap log's tail is above)"
    )
