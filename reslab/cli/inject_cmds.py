"""``reslab inject <fault>``, ``reslab recover ...``, ``reslab fis export`` over reslab.chaos.

One ``inject`` command per row of the fault table (:data:`reslab.chaos.faults.FAULTS`): its own
options come from the row (``Fault.command_flags``), followed by the options every injection
takes, declared once in :class:`InjectOptions`.
"""

from __future__ import annotations

import inspect
import json
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, get_type_hints

import typer

from reslab.chaos import fis, hypothesis, metrics
from reslab.chaos.errors import HypothesisFailed, LabResourceNotFound
from reslab.chaos.faults import (
    DEFAULT_DURATION_S,
    DURATION,
    FAULTS,
    REVERTIBLE,
    Fault,
    Flag,
    Options,
)
from reslab.chaos.fis_templates import Settings
from reslab.chaos.journal import BucketMirror, Entry, Journal
from reslab.chaos.lab import DEFAULT_PREFIX, STORAGE_STACK, WEB_STACK, Lab, resolve_endpoint
from reslab.chaos.lookups import website_image_url
from reslab.chaos.probe import SteadyStateProbe
from reslab.chaos.runner import Outcome, inject, outcome_json, recover

LOCAL_WORKSHOP = "reslab-local"
AUTO = "auto"

Region = Annotated[
    str | None, typer.Option("--region", help="lab region (env AWS_REGION, else us-east-2)")
]
Workshop = Annotated[
    str | None,
    typer.Option(
        "--workshop", help="the lab's workshop tag (env RESLAB_WORKSHOP; local: reslab-local)"
    ),
]
Prefix = Annotated[str, typer.Option("--stack-prefix", help="stack name prefix")]
Endpoint = Annotated[
    str | None, typer.Option("--endpoint-url", help="AWS API endpoint (a local cloud)")
]
Local = Annotated[
    bool,
    typer.Option(
        "--local", help="use the running local cloud (`reslab local up`, else AWS_ENDPOINT_URL)"
    ),
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="print the exact plan; change nothing")]
AsJson = Annotated[bool, typer.Option("--json", help="print the result as JSON on stdout")]
JournalDir = Annotated[
    Path | None, typer.Option("--journal-dir", help="journal directory (.reslab/journal)")
]
Probe = Annotated[
    bool, typer.Option("--probe", help="poll the site throughout (the web stack's WebsiteURL)")
]
ProbeUrl = Annotated[
    str | None, typer.Option("--probe-url", help="poll this URL instead (implies --probe)")
]
ProbeInterval = Annotated[float, typer.Option("--probe-interval", help="seconds between requests")]
Baseline = Annotated[float, typer.Option("--baseline", help="seconds of probing before injecting")]
Observe = Annotated[
    float, typer.Option("--observe", help="seconds of probing after the injection/revert")
]
Hypothesis = Annotated[
    str | None,
    typer.Option("--hypothesis", help='e.g. "availability>=99, p99_ms<=800, downtime_s<=5"'),
]
Force = Annotated[
    bool,
    typer.Option(
        "--force",
        help="inject even when the probe's baseline fails (the report says so)",
    ),
]
ReportDir = Annotated[
    Path | None, typer.Option("--report-dir", help="where report.json and timeline.png go")
]

inject_app = typer.Typer(
    help="Break the lab on purpose (journalled; see `reslab recover`).", no_args_is_help=True
)
fis_app = typer.Typer(
    help="AWS Fault Injection Service templates for the same failures.", no_args_is_help=True
)


def _say(text: str) -> None:
    typer.echo(text, err=True)


def make_lab(
    region: str | None, workshop: str | None, prefix: str, endpoint: str | None, local: bool
) -> Lab:
    url = resolve_endpoint(endpoint, local)
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    workshop = workshop or os.environ.get("RESLAB_WORKSHOP") or (LOCAL_WORKSHOP if url else None)
    if not workshop:
        raise LabResourceNotFound("which lab? pass --workshop (or set RESLAB_WORKSHOP)")
    return Lab(
        region=region or "us-east-2", workshop=workshop, stack_prefix=prefix, endpoint_url=url
    )


def make_journal(lab: Lab | None, directory: Path | None) -> Journal:
    """Local journal; on AWS also mirrored to the lab's report bucket (when the stack has one)."""
    mirror = None
    if lab is not None and not lab.local:
        bucket = lab.output(STORAGE_STACK, "ReportBucketName")
        if bucket:
            mirror = BucketMirror(lab.client("s3"), bucket)
    return Journal(directory, mirror)


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C (revert now) while an experiment runs."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass(frozen=True)
class InjectOptions:
    """The options every ``reslab inject <fault>`` takes after its own (one definition)."""

    region: Region = None
    workshop: Workshop = None
    stack_prefix: Prefix = DEFAULT_PREFIX
    endpoint_url: Endpoint = None
    local: Local = False
    dry_run: DryRun = False
    as_json: AsJson = False
    journal_dir: JournalDir = None
    probe: Probe = False
    probe_url: ProbeUrl = None
    probe_interval: ProbeInterval = 0.5
    baseline: Baseline = 5.0
    observe: Observe = 30.0
    hypothesis_text: Hypothesis = None
    report_dir: ReportDir = None
    force: Force = False


def _parameter(name: str, default: Any, annotation: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


def command_parameters(flags: list[Flag]) -> list[inspect.Parameter]:
    """The fault's own options, then :class:`InjectOptions`', as typer reads a signature."""
    own = [
        _parameter(
            f.name, f.default, Annotated[f.type, typer.Option(f.option, help=f.help, min=f.min)]
        )
        for f in flags
    ]
    hints = get_type_hints(InjectOptions, include_extras=True)
    shared = [_parameter(f.name, f.default, hints[f.name]) for f in fields(InjectOptions)]
    return own + shared


def fault_command(fault: Fault) -> Callable[..., None]:
    """``reslab inject <fault.name>``: its help is the row's summary, its options the row's."""
    flags = fault.command_flags()

    def command(**values: Any) -> None:
        duration = values.pop(DURATION, None)
        opts = Options(**{f.name: values.pop(f.name) for f in flags if f.name != DURATION})
        run_injection(fault.name, opts, duration, InjectOptions(**values))

    command.__signature__ = inspect.Signature(command_parameters(flags))  # type: ignore[attr-defined]
    command.__doc__ = fault.summary
    command.__name__ = f"inject_{fault.name}"
    return command


def _probe(lab: Lab, url: str | None, interval: float, follow: str) -> SteadyStateProbe | None:
    if url == AUTO:
        url = lab.output(WEB_STACK, "WebsiteURL")
        if not url:
            raise LabResourceNotFound(
                f"--probe: stack {lab.stack_name(WEB_STACK)} has no WebsiteURL output; "
                "pass --probe-url URL"
            )
        if follow == "image":
            url = website_image_url(url)
            _say(f"probing the website image the page shows: {url.split('?', 1)[0]}")
    if not url:
        return None
    _say(f"probing {url} every {interval:g} s")
    return SteadyStateProbe(url, interval=interval)


def run_injection(fault: str, opts: Options, duration: float | None, common: InjectOptions) -> None:
    lab = make_lab(
        common.region, common.workshop, common.stack_prefix, common.endpoint_url, common.local
    )
    text = common.hypothesis_text
    clauses = hypothesis.parse(text) if text else None
    probe_url = common.probe_url or (AUTO if common.probe or clauses else None)
    follow = FAULTS[fault].probe
    probe = None if common.dry_run else _probe(lab, probe_url, common.probe_interval, follow)
    journal = make_journal(lab, common.journal_dir)
    with sigterm_interrupts():
        outcome = inject(
            lab,
            fault,
            opts,
            journal,
            duration=duration,
            dry_run=common.dry_run,
            probe=probe,
            baseline_s=common.baseline,
            observe_s=common.observe,
            report_dir=common.report_dir,
            say=_say,
            tolerance=clauses,
            force=common.force,
        )
    result = outcome_json(outcome)
    for label, seen in (("before", outcome.before), ("after", outcome.after)):
        if seen:
            _say(f"{label}: " + ", ".join(f"{k}={v}" for k, v in seen.items()))
    verdict = _verdict(outcome, text, clauses, result)
    if common.as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
    if verdict is not None and not verdict[0]:
        raise HypothesisFailed(
            "; ".join(line for line in verdict[1] if "FAILS" in line or "n/a" in line)
        )


def _verdict(
    outcome: Outcome,
    text: str | None,
    clauses: list[hypothesis.Clause] | None,
    result: dict[str, Any],
) -> tuple[bool, list[str]] | None:
    """Print the probe's summary; with a hypothesis, its verdict (also added to ``result``)."""
    if outcome.summary is None:
        return None
    _say(metrics.render(outcome.summary))
    _say(f"report: {outcome.report_dir}/report.json, chart: {outcome.report_dir}/timeline.png")
    if not clauses:
        return None
    verdict = hypothesis.evaluate(clauses, outcome.summary)
    result["hypothesis"] = {"text": text, "held": verdict[0], "checks": verdict[1]}
    for line in verdict[1]:
        _say(f"hypothesis: {line}")
    return verdict


for _fault in FAULTS.values():
    inject_app.command(_fault.name)(fault_command(_fault))


def recover_cmd(
    what: Annotated[str, typer.Argument(help=" | ".join((*REVERTIBLE, "all")))] = "all",
    region: Region = None,
    workshop: Workshop = None,
    stack_prefix: Prefix = DEFAULT_PREFIX,
    endpoint_url: Endpoint = None,
    local: Local = False,
    dry_run: DryRun = False,
    journal_dir: JournalDir = None,
) -> None:
    """Undo injections still in force, from the journal (safe to run twice)."""
    if what not in (*REVERTIBLE, "all"):
        raise typer.BadParameter(f"{what!r}: choose one of {', '.join((*REVERTIBLE, 'all'))}")
    url = resolve_endpoint(endpoint_url, local)
    wanted = workshop or os.environ.get("RESLAB_WORKSHOP")
    lab = None
    if wanted:
        lab = make_lab(region, wanted, stack_prefix, endpoint_url, local)
    journal = make_journal(lab, journal_dir)

    def lab_for(entry: Entry) -> Lab:
        return Lab(
            region=entry.region,
            workshop=entry.workshop,
            stack_prefix=entry.stack_prefix,
            endpoint_url=url,
        )

    faults = REVERTIBLE if what == "all" else (what,)
    recover(journal, lab_for, faults, dry_run=dry_run, workshop=wanted, say=_say)


@fis_app.command("export")
def fis_export(
    out: Annotated[Path, typer.Option("--out", help="output directory")] = Path("build/fis"),
    alarm_arn: Annotated[
        str | None, typer.Option("--alarm-arn", help="stop-condition alarm")
    ] = None,
    role_arn: Annotated[str | None, typer.Option("--role-arn", help="FIS execution role")] = None,
    az: Annotated[str | None, typer.Option("--az", help="AZ to isolate (<region>a)")] = None,
    duration: Annotated[
        float, typer.Option("--duration", help="seconds (AZ and S3)")
    ] = DEFAULT_DURATION_S,
    bucket: Annotated[
        str | None, typer.Option("--bucket", help="website bucket for the S3 one")
    ] = None,
    region: Region = None,
    workshop: Workshop = None,
    stack_prefix: Prefix = DEFAULT_PREFIX,
    endpoint_url: Endpoint = None,
    local: Local = False,
    validate_remote: Annotated[
        bool,
        typer.Option(
            "--validate-remote/--no-validate-remote",
            help="also create+delete each template on the endpoint (moto/AWS)",
        ),
    ] = False,
) -> None:
    """Write FIS experiment templates (JSON) for the four failures, validated against botocore."""
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    workshop = workshop or os.environ.get("RESLAB_WORKSHOP") or LOCAL_WORKSHOP
    settings = Settings(
        region=region or "us-east-2",
        workshop=workshop,
        alarm_arn=alarm_arn,
        role_arn=role_arn,
        az=az,
        duration_s=duration,
        bucket=bucket,
    )
    written = fis.export(settings, out)
    if validate_remote:
        lab = make_lab(settings.region, workshop, stack_prefix, endpoint_url, local)
        fis.validate_remote(lab.client("fis"), [p for p in written if p.name.startswith("fis-")])
    for path in written:
        typer.echo(str(path))


def register(app: typer.Typer) -> None:
    app.add_typer(inject_app, name="inject")
    app.command("recover")(recover_cmd)
    app.add_typer(fis_app, name="fis")
