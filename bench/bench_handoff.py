"""The event-driven stack handoff against a fixed 30 s poll, for a full two-region deploy at
typical AWS stack times (``LocalCloud(time_scale=30)``: one local second is 30 AWS seconds,
each stack held in progress for its typical AWS duration / 30).

Two labs deploy side by side in one local cloud (real templates, backup check skipped):

* events: the deploy machine as installed -- each stack's completion event answers its Await
  (``reslab_lambda.handoff``); ``await_seconds`` 20 (600 AWS seconds, the default fallback);
* fixed poll (baseline): every stack event of the lab is lost and ``await_seconds`` is 1, so each
  Await times out after 30 AWS seconds and the machine checks the stack: Await, Check, ready?
  every 30 s, as the fixed-poll loop (Wait, Check, ready?) did.

Figures: state transitions of the deploy execution (states entered), and the delay from a
stack's completion (when it shows its final status: ``stack_events.SHOWN_AT``) to its branch's
``X done`` state, the start of what comes next (median over the lab's stacks), both scaled to
AWS seconds (x30: this also multiplies the local cloud's own latency, Lambda processes on a busy
machine, by 30) and in local wall seconds (the event path's latency, which AWS does not scale).
"""

from __future__ import annotations

import json
import logging
import statistics
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from typing import Any

from bench.result import BenchResult

TIME_SCALE = 30
EVENT_AWAIT_SECONDS = 20  # x 30 = 600 AWS seconds, the event key's default
POLL_AWAIT_SECONDS = 1  # x 30 = a 30 s poll


def _install(cloud: Any, name: str, lose_events: bool) -> tuple[dict[str, Any], str]:
    """The lab's event and its deploy machine (installed before stacks are held)."""
    from reslab.event import local_event, validate_event
    from reslab.installer.install import install

    settings = {
        "stack_prefix": name.capitalize(),
        "poll_seconds": 1,
        "poll_max_seconds": 4,
        "await_seconds": POLL_AWAIT_SECONDS if lose_events else EVENT_AWAIT_SECONDS,
        "skip_backup_check": True,
    }
    event = local_event(name, settings)
    return event, install(cloud.client, name, validate_event(event)).machines["deploy"]


def _deploy(cloud: Any, event: dict[str, Any], machine: str, lose_events: bool) -> Any:
    from reslab import execution
    from reslab.localcloud.compat.cloudformation import stack_events

    sfn = cloud.client("stepfunctions", "us-east-2")
    prefix = event["stack_prefix"]
    with stack_events.losing(f"{prefix}*") if lose_events else nullcontext():
        outcome = execution.wait(sfn, execution.start(sfn, machine, event, prefix))
    if outcome.status != "SUCCEEDED":
        raise RuntimeError(f"{prefix}: {outcome.error}: {outcome.cause}")
    return outcome


def _figures(cloud: Any, event: dict[str, Any], outcome: Any) -> tuple[int, list[float]]:
    """(state transitions, each stack's completion -> done delay in local seconds)."""
    from reslab import execution
    from reslab.event import validate_event
    from reslab.localcloud.compat.cloudformation import stack_events
    from reslab_lambda.cfn import describe
    from reslab_lambda.stacks import stack_table

    sfn = cloud.client("stepfunctions", "us-east-2")
    events = list(execution.history(sfn, outcome.arn))
    entered = {
        e["stateEnteredEventDetails"]["name"]: e["timestamp"].timestamp()
        for e in events
        if "stateEnteredEventDetails" in e
    }
    normalised = validate_event(event)
    delays = []
    for spec in stack_table():
        region = spec.region(normalised)
        done = entered.get(f"{spec.label} done")
        if region is None or done is None:
            continue
        stack = describe(cloud.client("cloudformation", region), spec.stack_name(normalised))
        shown = stack_events.SHOWN_AT.get(stack["StackId"]) if stack else None
        if shown is not None:
            delays.append(max(0.0, done - shown))
    transitions = sum(1 for e in events if e["type"].endswith("StateEntered"))
    return transitions, delays


def run() -> list[BenchResult]:
    from reslab.localcloud import LocalCloud

    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with LocalCloud() as cloud:
        ev_event, ev_machine = _install(cloud, "hev", False)
        po_event, po_machine = _install(cloud, "hpo", True)
        with cloud.scaled_time(TIME_SCALE), ThreadPoolExecutor(2) as pool:
            events = pool.submit(_deploy, cloud, ev_event, ev_machine, False)
            polled = pool.submit(_deploy, cloud, po_event, po_machine, True)
            ev_outcome, po_outcome = events.result(), polled.result()
        ev_transitions, ev_delays = _figures(cloud, ev_event, ev_outcome)
        po_transitions, po_delays = _figures(cloud, po_event, po_outcome)
    return [
        BenchResult(
            f"state transitions, full two-region deploy, time scale {TIME_SCALE} "
            "(stack events, 600 s fallback)",
            ev_transitions,
            "transitions",
            "fixed 30 s poll (AWS-equivalent), same deploy side by side",
            po_transitions,
        ),
        BenchResult(
            "stack completion -> next stage, median over the stacks (AWS-equivalent: x30)",
            statistics.median(ev_delays) * TIME_SCALE,
            "s",
            "fixed 30 s poll, same deploy side by side",
            statistics.median(po_delays) * TIME_SCALE,
        ),
        BenchResult(
            "stack completion -> next stage, median (local wall seconds, not scaled: the event "
            "path's own latency -- EventBridge, stack_event, SendTaskSuccess)",
            statistics.median(ev_delays),
            "s",
            "fixed 30 s poll (1 local s), same deploy side by side",
            statistics.median(po_delays),
        ),
    ]


if __name__ == "__main__":
    for result in run():
        print(json.dumps(result.to_json()))
