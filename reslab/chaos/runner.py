"""Run one experiment: plan -> journal -> inject -> hold -> revert, with the probe watching.

Order matters: the journal entry is written before the first change and after every call, so a
crash at any point leaves enough on disk for ``reslab recover`` to undo it. Ctrl-C (or SIGTERM)
during the hold reverts at once. With a probe, the steady state is checked after the baseline and
before anything changes: a target that already fails is refused (``SteadyStateNotMet``) unless
``force``, and the report says when it was forced.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from reslab.chaos import chart, hypothesis, metrics
from reslab.chaos.errors import AlreadyInjected, SteadyStateNotMet
from reslab.chaos.faults import FAULTS, REVERTIBLE, Fault, Options
from reslab.chaos.journal import Entry, Journal
from reslab.chaos.lab import Lab
from reslab.chaos.plan import Call, Plan, run_calls
from reslab.chaos.probe import SteadyStateProbe

Say = Callable[[str], None]


@dataclass
class Outcome:
    plan: Plan
    entry: Entry | None = None
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    interrupted: bool = False
    reverted_calls: list[str] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    report_dir: Path | None = None
    steady_before: hypothesis.SteadyState | None = None


def revert_entry(lab: Lab, entry: Entry, journal: Journal, dry_run: bool, say: Say) -> list[str]:
    """Undo one journalled injection (only what is still in force); returns the calls made."""
    fault = FAULTS[entry.fault]
    if fault.revert is None:
        return []
    calls = fault.revert(lab, entry)
    rendered = [c.render() for c in calls]
    if dry_run:
        say(f"{entry.id}: would revert with:" if calls else f"{entry.id}: nothing left to revert")
        for line in rendered:
            say(f"  {line}")
        return rendered
    run_calls(lab, calls, dict(entry.saved))
    entry.status = "reverted"
    entry.result["reverted_calls"] = rendered
    journal.save(entry)
    say(f"{entry.id}: reverted ({len(calls)} call(s))")
    return rendered


def _hold(seconds: float, stop: threading.Event) -> bool:
    """Wait; True when interrupted (Ctrl-C / SIGTERM, or ``stop`` set)."""
    try:
        return stop.wait(seconds)
    except KeyboardInterrupt:
        return True


def check_steady_state(
    probe: SteadyStateProbe,
    clauses: list[hypothesis.Clause] | None,
    force: bool,
    say: Say,
) -> hypothesis.SteadyState:
    """The baseline's verdict; raises :class:`SteadyStateNotMet` unless met or ``force``."""
    samples, _marks = probe.snapshot()
    if not samples:  # --baseline 0: one request still tells whether the target answers
        samples = [probe.sample_once()]
    steady = hypothesis.before_injection(
        samples, metrics.summarise(samples, [], probe.interval), clauses
    )
    if steady.met:
        say(steady.describe(probe.url))
        return steady
    if not force:
        raise SteadyStateNotMet(
            f"{steady.describe(probe.url)}; nothing was injected: fix the target "
            "(or --probe-url), or pass --force to inject anyway"
        )
    steady.forced = True
    say(f"warning: {steady.describe(probe.url)}")
    return steady


def _observe(fault: Fault, lab: Lab, plan: Plan, after: bool) -> dict[str, Any]:
    return fault.observe(lab, plan.undo, after) if fault.observe else {}


def inject(
    lab: Lab,
    fault_name: str,
    opts: Options,
    journal: Journal,
    *,
    duration: float | None,
    dry_run: bool = False,
    probe: SteadyStateProbe | None = None,
    baseline_s: float = 0.0,
    observe_s: float = 0.0,
    report_dir: Path | None = None,
    say: Say = print,
    stop: threading.Event | None = None,
    tolerance: list[hypothesis.Clause] | None = None,
    force: bool = False,
) -> Outcome:
    fault = FAULTS[fault_name]
    stop = stop or threading.Event()
    if fault.revertible:
        active = journal.active(fault=fault_name, workshop=lab.workshop)
        if active:
            raise AlreadyInjected(
                f"{fault_name} injection {active[0].id} is still in force: run "
                f"`reslab recover {fault_name}` first"
            )
    entry_id = journal.new_id(fault_name)
    plan = fault.plan(lab, opts, entry_id)
    hold = duration if fault.revertible else None
    if dry_run:
        say(plan.render(hold))
        say("dry run: nothing changed")
        return Outcome(plan=plan)

    outcome = Outcome(plan=plan)
    if probe is not None:
        probe.start()
    try:
        if probe is not None and _hold(baseline_s, stop):
            raise KeyboardInterrupt  # Ctrl-C before anything changed: just stop
        if probe is not None:
            outcome.steady_before = check_steady_state(probe, tolerance, force, say)
        outcome.before = _observe(fault, lab, plan, after=False)
        entry = Entry(
            id=entry_id,
            fault=fault_name,
            region=lab.region,
            workshop=lab.workshop,
            stack_prefix=lab.stack_prefix,
            endpoint_url=lab.endpoint_url,
            targets=plan.targets,
            calls=[c.to_dict() for c in plan.calls],
            undo=plan.undo,
        )
        journal.save(entry)  # FIRST: before any change
        outcome.entry = entry
        say(f"journal: {journal.path(entry.id)}")
        for target in plan.targets:
            say(f"target: {target}")
        if probe is not None:
            probe.mark("inject")

        def progress(index: int, call: Call) -> None:
            entry.calls_done = index + 1
            journal.save(entry)
            say(f"done: {call.render(entry.saved)}")

        try:
            run_calls(lab, plan.calls, entry.saved, after_each=progress)
        except BaseException:
            if fault.revertible:
                say("injection failed part-way: reverting what was done")
                revert_entry(lab, entry, journal, False, say)
            raise
        entry.status = "injected" if fault.revertible else "done"
        journal.save(entry)

        if fault.revertible:
            if hold:
                say(f"holding for {hold:g} s (Ctrl-C reverts now)")
                outcome.interrupted = _hold(hold, stop)
                outcome.reverted_calls = revert_entry(lab, entry, journal, False, say)
                if probe is not None:
                    probe.mark("recover")
            else:
                say(f"left in force: run `reslab recover {fault_name}` to undo")
        try:
            outcome.after = _observe(fault, lab, plan, after=True)
        except KeyboardInterrupt:  # e.g. tired of waiting for the failover: keep the report
            outcome.interrupted = True
            outcome.after = {"interrupted": True}
        if probe is not None and not fault.revertible:
            probe.mark("settled")  # the calls (and the wait for the target) are over
        entry.result["before"], entry.result["after"] = outcome.before, outcome.after
        journal.save(entry)
        if probe is not None and not outcome.interrupted:
            _hold(observe_s, stop)
    finally:
        if probe is not None:
            probe.stop()
    if probe is not None:
        outcome.summary, outcome.report_dir = write_report(probe, outcome, report_dir)
    return outcome


def write_report(
    probe: SteadyStateProbe, outcome: Outcome, report_dir: Path | None
) -> tuple[dict[str, Any], Path]:
    data = probe.to_dict()
    samples, marks = probe.snapshot()
    summary = metrics.summarise(samples, marks, probe.interval)
    last_mark = max((t for _name, t in marks), default=None)
    after = [s for s in samples if last_mark is None or s.t >= last_mark]
    summary["steady_state"] = {
        "before": outcome.steady_before.to_dict() if outcome.steady_before else None,
        "after": hypothesis.after_experiment(after).to_dict(),
    }
    name = outcome.entry.id if outcome.entry else f"{int(time.time())}-{outcome.plan.fault}"
    directory = report_dir or (Path.cwd() / ".reslab" / "reports" / name)
    directory.mkdir(parents=True, exist_ok=True)
    report = {
        "fault": outcome.plan.fault,
        "journal_id": outcome.entry.id if outcome.entry else None,
        "targets": outcome.plan.targets,
        "before": outcome.before,
        "after": outcome.after,
        "interrupted": outcome.interrupted,
        "summary": summary,
        "probe": data,
    }
    (directory / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    chart.write_timeline(
        data, summary, directory / "timeline.png", outcome.plan.fault, outcome.plan.targets
    )
    return summary, directory


def recover(
    journal: Journal,
    lab_for: Callable[[Entry], Lab],
    faults: tuple[str, ...] = REVERTIBLE,
    *,
    dry_run: bool = False,
    workshop: str | None = None,
    say: Say = print,
) -> list[Entry]:
    """Revert every journalled injection still in force (of the given kinds). Idempotent."""
    todo = [e for e in journal.active(workshop=workshop) if e.fault in faults]
    if not todo:
        say("nothing to recover")
    for entry in todo:
        revert_entry(lab_for(entry), entry, journal, dry_run, say)
    return todo


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    return {
        "fault": outcome.plan.fault,
        "journal_id": outcome.entry.id if outcome.entry else None,
        "targets": outcome.plan.targets,
        "calls": [c.to_dict() for c in outcome.plan.calls],
        "before": outcome.before,
        "after": outcome.after,
        "interrupted": outcome.interrupted,
        "reverted_calls": outcome.reverted_calls,
        "summary": outcome.summary,
        "report_dir": str(outcome.report_dir) if outcome.report_dir else None,
        "entry": asdict(outcome.entry) if outcome.entry else None,
    }
