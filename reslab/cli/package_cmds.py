"""``reslab package --out DIR``: build every Lambda zip, the web-app tarball and the bootstrap."""

from __future__ import annotations

from pathlib import Path

import typer

from reslab.packaging import package_all


def package(
    out: Path = typer.Option(Path("build/dist"), "--out", help="Directory for the artifacts."),
) -> None:
    """Build reproducible artifacts (two builds give identical bytes) and a SHA256SUMS."""
    for path in package_all(out):
        typer.echo(path)


def register(app: typer.Typer) -> None:
    app.command("package")(package)
