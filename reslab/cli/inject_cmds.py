"""``reslab inject ...``, ``reslab recover ...``, ``reslab fis export`` over reslab.chaos."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

from reslab.chaos import fis, hypothesis, metrics
from reslab.chaos.errors import HypothesisFailed, LabResourceNotFound
from reslab.chaos.faults import FAULTS, REVERTIBLE, Options
from reslab.chaos.journal import BucketMirror, Entry, Journal
from reslab.chaos.lab import DEFAULT_PREFIX, Lab, resolve_endpoint
from reslab.chaos.runner import inject, outcome_json, recover
from reslab.chaos.steady import SteadyStateProbe

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
Duration = Annotated[
    float,
    typer.Option(
        "--duration", help="seconds before reverting by itself (0: leave it for `recover`)"
    ),
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
        bucket = lab.output("Storage", "ReportBucketName")
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


def _run(
    fault: str,
    opts: Options,
    lab: Lab,
    *,
    duration: float | None,
    dry_run: bool,
    as_json: bool,
    journal_dir: Path | None,
    probe_url: str | None,
    probe_interval: float,
    baseline: float,
    observe: float,
    hypothesis_text: str | None,
    report_dir: Path | None,
) -> None:
    clauses = hypothesis.parse(hypothesis_text) if hypothesis_text else None
    if clauses and not probe_url:
        probe_url = AUTO
    probe = None
    if probe_url and not dry_run:
        url = lab.output("Web", "WebsiteURL") if probe_url == AUTO else probe_url
        if not url:
            raise LabResourceNotFound(
                f"--probe: stack {lab.stack_name('Web')} has no WebsiteURL output; "
                "pass --probe-url URL"
            )
        probe = SteadyStateProbe(url, interval=probe_interval)
        _say(f"probing {url} every {probe_interval:g} s")
    journal = make_journal(lab, journal_dir)
    with sigterm_interrupts():
        outcome = inject(
            lab,
            fault,
            opts,
            journal,
            duration=duration,
            dry_run=dry_run,
            probe=probe,
            baseline_s=baseline,
            observe_s=observe,
            report_dir=report_dir,
            say=_say,
        )
    result = outcome_json(outcome)
    for label, seen in (("before", outcome.before), ("after", outcome.after)):
        if seen:
            _say(f"{label}: " + ", ".join(f"{k}={v}" for k, v in seen.items()))
    verdict: tuple[bool, list[str]] | None = None
    if outcome.summary is not None:
        _say(metrics.render(outcome.summary))
        _say(f"report: {outcome.report_dir}/report.json, chart: {outcome.report_dir}/timeline.png")
        if clauses:
            verdict = hypothesis.evaluate(clauses, outcome.summary)
            result["hypothesis"] = {
                "text": hypothesis_text,
                "held": verdict[0],
                "checks": verdict[1],
            }
            for line in verdict[1]:
                _say(f"hypothesis: {line}")
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
    if verdict is not None and not verdict[0]:
        raise HypothesisFailed(
            "; ".join(line for line in verdict[1] if "FAILS" in line or "n/a" in line)
        )


def _common_run(fault: str, opts: Options, duration: float | None, **kw: Any) -> None:
    lab = make_lab(
        kw.pop("region"),
        kw.pop("workshop"),
        kw.pop("stack_prefix"),
        kw.pop("endpoint_url"),
        kw.pop("local"),
    )
    _run(fault, opts, lab, duration=duration, **kw)


@inject_app.command("instance")
def inject_instance(
    count: Annotated[int, typer.Option("--count", min=1, help="instances to terminate")] = 1,
    asg: Annotated[
        str | None, typer.Option("--asg", help="Auto Scaling group (web stack output)")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="repeatable random choice")] = None,
    region: Region = None,
    workshop: Workshop = None,
    stack_prefix: Prefix = DEFAULT_PREFIX,
    endpoint_url: Endpoint = None,
    local: Local = False,
    dry_run: DryRun = False,
    as_json: AsJson = False,
    journal_dir: JournalDir = None,
    probe: Probe = False,
    probe_url: ProbeUrl = None,
    probe_interval: ProbeInterval = 0.5,
    baseline: Baseline = 5.0,
    observe: Observe = 30.0,
    hypothesis_text: Hypothesis = None,
    report_dir: ReportDir = None,
) -> None:
    """Terminate COUNT random in-service instances of the lab's Auto Scaling group."""
    _common_run("instance", Options(count=count, asg=asg, seed=seed), None, **_kw(locals()))


@inject_app.command("az")
def inject_az(
    az: Annotated[str | None, typer.Option("--az", help="zone to isolate (random lab AZ)")] = None,
    duration: Duration = FAULTS["az"].default_duration or 300.0,
    seed: Annotated[int | None, typer.Option("--seed", help="repeatable random choice")] = None,
    region: Region = None,
    workshop: Workshop = None,
    stack_prefix: Prefix = DEFAULT_PREFIX,
    endpoint_url: Endpoint = None,
    local: Local = False,
    dry_run: DryRun = False,
    as_json: AsJson = False,
    journal_dir: JournalDir = None,
    probe: Probe = False,
    probe_url: ProbeUrl = None,
    probe_interval: ProbeInterval = 0.5,
    baseline: Baseline = 5.0,
    observe: Observe = 30.0,
    hypothesis_text: Hypothesis = None,
    report_dir: ReportDir = None,
) -> None:
    """Isolate one AZ: a deny-all network ACL on the lab subnets there, reverted after DURATION."""
    _common_run("az", Options(az=az, seed=seed), duration, **_kw(locals()))


@inject_app.command("rds")
def inject_rds(
    replica: Annotated[
        bool, typer.Option("--replica", help="report read-replica lag before/after")
    ] = False,
    replica_region: Annotated[
        str | None, typer.Option("--replica-region", help="(--region)")
    ] = None,
    db: Annotated[
        str | None, typer.Option("--db", help="DB instance (database stack output)")
    ] = None,
    region: Region = None,
    workshop: Workshop = None,
    stack_prefix: Prefix = DEFAULT_PREFIX,
    endpoint_url: Endpoint = None,
    local: Local = False,
    dry_run: DryRun = False,
    as_json: AsJson = False,
    journal_dir: JournalDir = None,
    probe: Probe = False,
    probe_url: ProbeUrl = None,
    probe_interval: ProbeInterval = 0.5,
    baseline: Baseline = 5.0,
    observe: Observe = 30.0,
    hypothesis_text: Hypothesis = None,
    report_dir: ReportDir = None,
) -> None:
    """Multi-AZ failover of the lab database (reboot with ForceFailover)."""
    opts = Options(replica=replica, replica_region=replica_region, db=db)
    _common_run("rds", opts, None, **_kw(locals()))


@inject_app.command("s3")
def inject_s3(
    key: Annotated[str, typer.Option("--key", help="object key (pattern) to deny")] = "*",
    bucket: Annotated[
        str | None, typer.Option("--bucket", help="(storage stack WebsiteBucketName)")
    ] = None,
    duration: Duration = FAULTS["s3"].default_duration or 300.0,
    region: Region = None,
    workshop: Workshop = None,
    stack_prefix: Prefix = DEFAULT_PREFIX,
    endpoint_url: Endpoint = None,
    local: Local = False,
    dry_run: DryRun = False,
    as_json: AsJson = False,
    journal_dir: JournalDir = None,
    probe: Probe = False,
    probe_url: ProbeUrl = None,
    probe_interval: ProbeInterval = 0.5,
    baseline: Baseline = 5.0,
    observe: Observe = 30.0,
    hypothesis_text: Hypothesis = None,
    report_dir: ReportDir = None,
) -> None:
    """Deny reads of the website image with a bucket-policy statement (Sid ReslabInjectDenyRead)."""
    _common_run("s3", Options(key=key, bucket=bucket), duration, **_kw(locals()))


_RUN_KEYS = (
    "region",
    "workshop",
    "stack_prefix",
    "endpoint_url",
    "local",
    "dry_run",
    "as_json",
    "journal_dir",
    "probe_interval",
    "baseline",
    "observe",
    "report_dir",
)


def _kw(values: dict[str, Any]) -> dict[str, Any]:
    kw = {k: values[k] for k in _RUN_KEYS}
    kw["probe_url"] = values["probe_url"] or (AUTO if values["probe"] else None)
    kw["hypothesis_text"] = values["hypothesis_text"]
    return kw


def recover_cmd(
    what: Annotated[str, typer.Argument(help="az | s3 | all")] = "all",
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
    duration: Annotated[float, typer.Option("--duration", help="seconds (AZ and S3)")] = 300.0,
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
    settings = fis.Settings(
        region=region or "us-east-2",
        workshop=workshop,
        stack_prefix=stack_prefix,
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
