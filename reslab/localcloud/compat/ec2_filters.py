"""EC2 ``Describe*`` filters moto 5.2.5 ignores, where ignoring one returns MORE than AWS would.

``DescribeNatGateways`` honours only ``nat-gateway-id``, ``vpc-id``, ``subnet-id`` and ``state``:
a ``tag:<key>`` or ``tag-key`` filter was dropped, so every NAT gateway of the region answered.
``reslab sweep --delete --workshop A`` then deleted workshop B's NAT gateways too, cutting B's
private subnets off the AWS APIs (found when one test's sweep broke another lab's check
Lambdas). AWS applies them; so does this wrapper, with moto's own per-resource tag matching.
"""

from __future__ import annotations

from typing import Any

_installed = False


def _tag_filters(filters: dict[str, Any] | None) -> dict[str, list[str]]:
    return {
        name: list(values)
        for name, values in (filters or {}).items()
        if name.startswith("tag:") or name == "tag-key"
    }


def _matches(resource: Any, name: str, values: list[str]) -> bool:
    if name == "tag-key":
        return any(tag["key"] in values for tag in resource.get_tags())
    return resource.get_filter_value(name) in values


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.ec2.models.nat_gateways import NatGatewayBackend

    describe = NatGatewayBackend.describe_nat_gateways

    def describe_nat_gateways(
        self: Any, filters: Any, nat_gateway_ids: list[str] | None
    ) -> list[Any]:
        found = describe(self, filters, nat_gateway_ids)
        for name, values in _tag_filters(filters).items():
            found = [n for n in found if _matches(n, name, values)]
        return found

    NatGatewayBackend.describe_nat_gateways = describe_nat_gateways  # type: ignore[method-assign]
    _installed = True
