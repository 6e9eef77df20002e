# ruff: noqa: E501 - one row per command, as the assembled help prints it
"""``reslab --help`` without assembling the commands (which import boto3 and more).

The table below is the assembled app's command list: tests/cli/test_summary.py fails, with the
rows to paste, when a command is added, renamed, reordered or its help changes.
"""

from __future__ import annotations

import shutil
import textwrap

DESCRIPTION = "Deploy the resiliency lab, break it on purpose, and prove its backups restore."

#: (command, its one-line help) in the order ``reslab --help`` lists them.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("deploy", "Deploy the lab: VPC + Storage, then Database, then Replica + Web, then the backup check."),
    ("destroy", "Tear the lab down in reverse order, in both regions (buckets emptied first)."),
    ("status", "Show every stack of the lab with its status."),
    ("db-diff", "Compare TARGET_URL with SOURCE_URL: schema, row counts, checksums, expectations."),
    ("verify-backup", "Restore a snapshot into a temporary instance, check it, and print the verdict."),
    ("reports", "List the verification history (newest first) with verdicts, from the report bucket; or fetch one report's HTML (--download/--open ID)."),
    ("recover", "Undo injections still in force, from the journal (safe to run twice)."),
    ("failover", "Make the DMS target in the secondary region the database: drain the task, stop it, print the target's endpoint and master secret and the time taken."),
    ("db-rpo", "Count the rows of TABLE that PRIMARY_URL holds and TARGET_URL does not (identically): the recovery point of a failover, with db-diff's in-database checksums."),
    ("mode", "Switch the web app between fragile and resilient: updates the web stack's WebAppMode parameter and waits (on AWS the instances are replaced one by one; no redeploy)."),
    ("package", "Build reproducible artifacts (two builds give identical bytes), a VERSION and SHA256SUMS."),
    ("sweep", "Find everything still tagged with the workshop; delete it in a safe order with --delete."),
    ("reset", "Tear one lab down and deploy it again (same install, same event)."),
    ("install", "Create or update the installer stack (roles, Lambdas, state machines, report bucket, backup-check schedule, SSM parameters) after uploading its artifacts; print its outputs."),
    ("local", "The embedded local cloud (moto + real Lambdas, databases, web tier)."),
    ("inject", "Break the lab on purpose (journalled; see `reslab recover`)."),
    ("fis", "AWS Fault Injection Service templates for the same failures."),
    ("fleet", "Deploy, watch, destroy or reset one lab per participant."),
)  # fmt: skip

OPTIONS = (
    ("--version", "Print reslab's version and exit."),
    ("--help", "Show this message and exit."),
)


def root_help(width: int | None = None) -> str:
    """The top-level help, from the tables above: plain text, wrapped to the terminal."""
    width = width or min(shutil.get_terminal_size((80, 24)).columns, 100)
    lines = ["Usage: reslab [OPTIONS] COMMAND [ARGS]...", "", f"  {DESCRIPTION}", ""]
    for title, rows in (("Options", OPTIONS), ("Commands", COMMANDS)):
        column = max(len(name) for name, _ in rows) + 4
        lines.append(f"{title}:")
        for name, text in rows:
            wrapped = textwrap.wrap(text, max(width - column, 30)) or [""]
            lines.append(f"  {name.ljust(column - 2)}{wrapped[0]}")
            lines += [" " * column + rest for rest in wrapped[1:]]
        lines.append("")
    lines.append("Run `reslab COMMAND --help` for a command's options.")
    return "\n".join(lines)
