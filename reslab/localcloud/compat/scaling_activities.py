"""``DescribeScalingActivities`` answered no activity in moto 5.2.5 (gap 70 of
docs/local-cloud.md). The web tier's replacements of unhealthy instances (``webtier.py``) record
what Auto Scaling records -- "Terminating EC2 instance: i-..." in response to an ELB system health
check failure, "Launching a new EC2 instance: i-..." -- on the group; the call answers them,
newest first, for the group named (every group without a name), up to ``MaxRecords`` (100).
Not modelled: pagination (``NextToken``), ``IncludeDeletedGroups``, ``Details``, and the
activities of moto's own launches (creation, scaling, ``TerminateInstanceInAutoScalingGroup``).
"""

from __future__ import annotations

from typing import Any

_ATTRIBUTE = "reslab_activities"
_DEFAULT_MAX_RECORDS = 100
_installed = False


def record(group: Any, description: str, cause: str) -> Any:
    """A successful activity of ``group`` (moto's ``FakeAutoScalingGroup``); ``cause`` follows
    AWS's "At <time> " prefix."""
    from moto.autoscaling.models import Activity
    from moto.core.utils import utcnow

    started = utcnow()
    stamp = started.strftime("%Y-%m-%dT%H:%M:%SZ")
    activity = Activity(
        description, f"At {stamp} {cause}", group, start_time=started, status_code="Successful"
    )
    activity.progress = 100
    activities = getattr(group, _ATTRIBUTE, None)
    if activities is None:
        activities = []
        setattr(group, _ATTRIBUTE, activities)
    activities.append(activity)
    return activity


def activities_of(groups: list[Any]) -> list[Any]:
    found = [a for g in groups for a in getattr(g, _ATTRIBUTE, None) or ()]
    return sorted(found, key=lambda a: a.start_time, reverse=True)


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.autoscaling.responses import AutoScalingResponse
    from moto.core.responses import ActionResult

    def describe_scaling_activities(self: Any) -> Any:
        name = self._get_param("AutoScalingGroupName")
        wanted = set(self._get_param("ActivityIds", []) or [])
        groups = self.autoscaling_backend.autoscaling_groups
        chosen = [groups[name]] if name in groups else [] if name else list(groups.values())
        found = [a for a in activities_of(chosen) if not wanted or a.activity_id in wanted]
        limit = int(self._get_param("MaxRecords") or _DEFAULT_MAX_RECORDS)
        return ActionResult({"Activities": found[:limit]})

    AutoScalingResponse.describe_scaling_activities = describe_scaling_activities  # type: ignore[method-assign]
    _installed = True
