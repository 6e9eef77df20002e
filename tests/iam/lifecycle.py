"""One lab's whole life through the CLI, in the session's local cloud with IAM enforced, and
what its roles' policies were: the run ``test_every_statement_needed.py`` judges.

``reslab deploy --local`` (install, both regions, the nested backup check with the RDS-managed
secret; no stack held in progress, so each is complete when first looked at); ``reslab
verify-backup`` three more times: credentials from a workshop-tagged secret with a Slack notice
from a tagged parameter, from a tagged SecureString parameter (both under a customer managed
key), and a snapshot taken by hand; every injection left in force, then ``reslab recover``;
``reslab reset`` and ``reslab destroy`` with stacks held in progress (each Await answered by the
stack's event); ``reslab sweep --delete``. The CLI signs as the account's root user; the lab's
Lambdas and machines act with their roles.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reslab.cli.app import app
from reslab.event import local_event
from reslab.iam.accesslog import Entry
from reslab.localcloud import iam_report
from reslab.localcloud.state import write_state
from tests.restore.lab import SlackServer

REGION = "us-east-2"
#: Each injection of ``reslab inject`` (``reslab.chaos.faults``), with its options.
#: Stacks stay ``*_IN_PROGRESS`` for AWS's typical durations / this (7.5 s for a Multi-AZ
#: database): each Await waits for the stack's event, as on AWS, rather than finding it done.
TIME_SCALE = 120
#: ``--duration 0``: left in force for ``reslab recover``.
INJECTIONS: tuple[tuple[str, ...], ...] = (
    ("instance",),
    ("az", "--duration", "0"),
    ("region", "--duration", "0"),
    ("rds",),
    ("s3", "--duration", "0"),
)


@dataclass
class Run:
    name: str
    prefix: str
    workshop: str
    #: role ARN -> its identity policies as (name, document), as the authorizer names them
    documents: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)

    def role_name(self, arn: str) -> str | None:
        """The role's logical name (``AwaitStackRole``, ``Web/InstanceRole``) if it is one of
        this lab's: the installer's (``<name>-<Logical>-<suffix>``) or a lab stack's
        (``<prefix><Stack>-<Logical>-<suffix>``); else None."""
        name = arn.rsplit("/", 1)[-1]
        if name.startswith(f"{self.name}-"):
            return name.removeprefix(f"{self.name}-").rsplit("-", 1)[0]
        match = re.fullmatch(rf"{self.prefix}([A-Za-z]+)-(\w+)-\w+", name)
        return f"{match.group(1)}/{match.group(2)}" if match else None

    def lab_roles(self) -> dict[str, str]:
        """Role ARN -> logical name, for every role of this lab the run saw."""
        return {arn: n for arn in self.documents if (n := self.role_name(arn)) is not None}


class Cli:
    def __init__(self, run: Run) -> None:
        self.runner, self.run = CliRunner(), run

    def __call__(self, *args: str) -> str:
        started = time.monotonic()
        result = self.runner.invoke(app, list(args))
        assert result.exit_code == 0, (args, result.output[-3000:], result.exception)
        self.run.steps.append(f"{' '.join(args[:2])}: {time.monotonic() - started:.1f}s")
        return result.output


@contextmanager
def _workdir(path: Path, endpoint: str) -> Iterator[Path]:
    write_state(endpoint, path)  # the CLI's --local finds the session's cloud
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(path)
        for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
            mp.delenv(var, raising=False)
        yield path


def _source(cloud: Any, run: Run) -> dict[str, Any]:
    """The lab's database instance (not its replica, in the other region)."""
    instances = cloud.client("rds", REGION).describe_db_instances()["DBInstances"]
    return next(d for d in instances if d["DBInstanceIdentifier"].startswith(run.prefix.lower()))


def _credentials(cloud: Any, run: Run) -> str:
    """The lab database's master credentials (read as root from its RDS-managed secret)."""
    arn = _source(cloud, run)["MasterUserSecret"]["SecretArn"]
    return str(
        cloud.client("secretsmanager", REGION).get_secret_value(SecretId=arn)["SecretString"]
    )


def _tagged_stores(cloud: Any, run: Run, slack_url: str) -> dict[str, str]:
    """A secret and a SecureString parameter with the credentials, a parameter with the Slack
    webhook: each tagged with the workshop, as docs/backup-verification.md asks."""
    value, tags = _credentials(cloud, run), [{"Key": "workshop", "Value": run.workshop}]
    # a customer managed key (its default policy lets IAM policies grant it): the Lambdas'
    # kms:Decrypt through Secrets Manager and SSM is then authorized by their roles
    key = cloud.client("kms", REGION).create_key(
        Tags=[{"TagKey": "workshop", "TagValue": run.workshop}]
    )
    key_id = key["KeyMetadata"]["KeyId"]
    secret = f"{run.name}/db-credentials"
    cloud.client("secretsmanager", REGION).create_secret(
        Name=secret, SecretString=value, Tags=tags, KmsKeyId=key_id
    )
    ssm = cloud.client("ssm", REGION)
    names = {
        "secret": secret,
        "ssm": f"/{run.name}/db",
        "slack": f"/{run.name}/slack",
        "key": key_id,
    }
    for name, text in (("ssm", value), ("slack", slack_url)):
        ssm.put_parameter(
            Name=names[name], Value=text, Type="SecureString", KeyId=key_id, Tags=tags
        )
    return names


def _manual_snapshot(cloud: Any, run: Run) -> str:
    """A snapshot of the lab database taken by hand (as a participant would), tagged."""
    rds = cloud.client("rds", REGION)
    source = _source(cloud, run)["DBInstanceIdentifier"]
    name = f"{source}-by-hand"
    tags = [{"Key": "workshop", "Value": run.workshop}]
    rds.create_db_snapshot(DBInstanceIdentifier=source, DBSnapshotIdentifier=name, Tags=tags)
    return name


def lifecycle(cloud: Any, workdir: Path) -> Run:
    tag = uuid.uuid4().hex[:6]
    run = Run(name=f"pf{tag}", prefix=f"Pf{tag}", workshop=f"proof {tag}")
    event = local_event(run.name, {"stack_prefix": run.prefix, "workshop": run.workshop})
    cli = Cli(run)
    lab = ["--region", REGION, "--workshop", run.workshop, "--stack-prefix", run.prefix]
    first = cloud.access_log.size()
    with _workdir(workdir, cloud.endpoint_url), SlackServer().running() as slack:
        Path("event.json").write_text(json.dumps(event))
        on_event = ["--local", "--event", "event.json", "--name", run.name]
        cli("deploy", *on_event)  # without a hold: each stack is complete when first looked at
        run.documents.update(iam_report.role_documents())
        stores = _tagged_stores(cloud, run, slack.url)
        check = ["verify-backup", "--local", "--name", run.name, "--stack-prefix", run.prefix]
        cli(*check, "--secret-id", stores["secret"], "--slack-webhook-parameter", stores["slack"])
        assert slack.posts, "the Slack notice of the verification was not posted"
        cli(*check, "--ssm-parameter", stores["ssm"])
        snapshot = _manual_snapshot(cloud, run)
        cli(*check, "--snapshot", snapshot)
        for fault, *options in INJECTIONS:
            cli("inject", fault, "--local", *lab, *options)
            cli("recover", "--local", *lab)
        with cloud.scaled_time(TIME_SCALE):  # each stack's event answers its Await
            cli("reset", *on_event)
            run.documents.update(iam_report.role_documents())
            cli("destroy", *on_event)
        run.documents.update(iam_report.role_documents())
        for name in (stores["ssm"], stores["slack"]):  # the test's own, not the lab's
            cloud.client("ssm", REGION).delete_parameter(Name=name)
        cloud.client("secretsmanager", REGION).delete_secret(
            SecretId=stores["secret"], ForceDeleteWithoutRecovery=True
        )
        cloud.client("rds", REGION).delete_db_snapshot(DBSnapshotIdentifier=snapshot)
        cloud.client("kms", REGION).schedule_key_deletion(
            KeyId=stores["key"], PendingWindowInDays=7
        )
        cli("sweep", "--workshop", run.workshop, "--local", "--delete")
    run.entries = cloud.access_log.entries()[first:]
    return run
