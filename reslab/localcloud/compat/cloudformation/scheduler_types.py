"""``AWS::Scheduler::ScheduleGroup`` and ``AWS::Scheduler::Schedule`` in CloudFormation: moto
5.2.5 implements the Scheduler API but not these resource types (the installer stack's daily
backup check). Backed by moto's own scheduler backend, so the API sees what the stack made.
"""

from __future__ import annotations

from typing import Any

from reslab.localcloud.compat.cloudformation.resource_model import Model, register

_installed = False


def _backend(account_id: str, region: str) -> Any:
    from moto.scheduler.models import scheduler_backends

    return scheduler_backends[account_id][region]


class ScheduleGroup(Model):
    CFN_TYPE = "AWS::Scheduler::ScheduleGroup"

    @classmethod
    def from_properties(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> ScheduleGroup:
        name = p.get("Name") or resource_name
        group = _backend(account_id, region_name).create_schedule_group(
            name, list(p.get("Tags") or [])
        )
        return cls(name, account_id, region_name, Arn=group.arn)

    def _remove(self) -> None:
        backend = _backend(self.account_id, self.region)
        if self.physical_resource_id in backend.schedule_groups:
            backend.delete_schedule_group(self.physical_resource_id)


class Schedule(Model):
    CFN_TYPE = "AWS::Scheduler::Schedule"

    @classmethod
    def from_properties(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> Schedule:
        name = p.get("Name") or resource_name
        schedule = _backend(account_id, region_name).create_schedule(
            description=p.get("Description"),
            end_date=p.get("EndDate"),
            flexible_time_window=p["FlexibleTimeWindow"],
            group_name=p.get("GroupName") or "default",
            kms_key_arn=p.get("KmsKeyArn"),
            name=name,
            schedule_expression=p["ScheduleExpression"],
            schedule_expression_timezone=p.get("ScheduleExpressionTimezone"),
            start_date=p.get("StartDate"),
            state=p.get("State", "ENABLED"),
            target=p["Target"],
            action_after_completion=None,
        )
        return cls(name, account_id, region_name, Arn=schedule.arn, group=p.get("GroupName"))

    def _remove(self) -> None:
        backend = _backend(self.account_id, self.region)
        group = self.extra.get("group") or "default"
        if group in backend.schedule_groups:
            schedules = backend.schedule_groups[group].schedules
            if self.physical_resource_id in schedules:
                backend.delete_schedule(group, self.physical_resource_id)


MODELS: tuple[type[Model], ...] = (ScheduleGroup, Schedule)


def install() -> None:
    global _installed
    if _installed:
        return
    register(MODELS)
    _installed = True
