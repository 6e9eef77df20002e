"""Command-line options that several command modules take with the same meaning and help."""

from __future__ import annotations

import typer

from reslab.cli import deploy_cmds

LOCAL = typer.Option(False, "--local", help="Use the embedded local cloud.")
EVENT_FILE = typer.Option(None, "--event", help="Event JSON file.")
INSTALL_BASE_NAME = typer.Option(deploy_cmds.DEFAULT_NAME, "--name", help="Install base name.")
