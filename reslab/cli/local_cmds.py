"""``reslab local up|status``: run the embedded local cloud in the foreground, or find it."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import typer

from reslab.errors import LocalCloudError


def up(
    port: int = typer.Option(0, help="TCP port on 127.0.0.1 (0 picks a free one)."),
    db_url: str | None = typer.Option(
        None,
        help="Back RDS instances with databases on this server (postgres/mysql URL), or "
        "'private-mysql': each MySQL instance its own binlog server, replicas that follow.",
    ),
    state_dir: Path | None = typer.Option(
        None, help="Keep embedded databases and web-app logs here (default: a temp dir)."
    ),
    time_scale: float | None = typer.Option(
        None, help="Hold stacks *_IN_PROGRESS for typical AWS durations divided by this."
    ),
    no_iam: bool = typer.Option(
        False, "--no-iam", help="Do not enforce IAM policies (debugging only)."
    ),
) -> None:
    """Run the local cloud until Ctrl-C; other reslab commands find it via .reslab/local.json."""
    from reslab.localcloud import LocalCloud, iam_report
    from reslab.localcloud.server import CALLER_NOTICE, IAM_OFF_NOTICE
    from reslab.localcloud.state import backing_label, clear_state, write_state

    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    cloud = LocalCloud(
        db_url=db_url,
        time_scale=time_scale,
        state_dir=state_dir,
        port=port,
        iam=False if no_iam else None,
    )
    cloud.start()
    try:
        state_file = write_state(cloud.endpoint_url, backing=backing_label(db_url))
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        if no_iam:
            typer.echo(IAM_OFF_NOTICE)
        typer.echo(f"local cloud listening on {cloud.endpoint_url}")
        typer.echo(f"export AWS_ENDPOINT_URL={cloud.endpoint_url}")
        typer.echo(
            "export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "
            "AWS_DEFAULT_REGION=us-east-1"
        )
        typer.echo(CALLER_NOTICE)
        typer.echo(f"state: {state_file} -- Ctrl-C stops it")
        saved, ticks = 0, 0
        while not stop.wait(0.5):
            ticks += 1
            if cloud.iam and ticks % 10 == 0 and cloud.access_log.size() != saved:
                saved = cloud.access_log.size()  # every 5 s, for `reslab local iam-report`
                iam_report.save(cloud.access_log)
    finally:
        typer.echo("stopping the local cloud")
        if cloud.iam:
            iam_report.save(cloud.access_log)
        clear_state()
        cloud.stop()


def status() -> None:
    """Print the endpoint of a running `reslab local up` (exit 1 if none)."""
    from reslab.localcloud import discover

    endpoint = discover()
    if endpoint is None:
        raise LocalCloudError("no local cloud is running (start one with `reslab local up`)")
    typer.echo(endpoint)


def iam_report_command(
    directory: Path = typer.Option(
        Path("."), "--dir", help="Where the local cloud ran (its .reslab/iam-access.jsonl)."
    ),
) -> None:
    """Per role: the actions the last local run used beside those its policies grant."""
    from reslab.localcloud import iam_report

    try:
        lines = list(iam_report.report(directory))
    except FileNotFoundError:
        raise LocalCloudError(
            "no IAM access log here: run `reslab local up` or `reslab deploy --local` first"
        ) from None
    for line in lines:
        typer.echo(line)


def register(app: typer.Typer) -> None:
    local = typer.Typer(help="The embedded local cloud (moto + real Lambdas, databases, web tier).")
    local.command("up")(up)
    local.command("status")(status)
    local.command("iam-report")(iam_report_command)
    app.add_typer(local, name="local")
