"""``reslab package --out DIR``: every Lambda zip, the ASL, the installer template, the web-app
tarball and the bootstrap."""

from __future__ import annotations

from pathlib import Path

import typer

from reslab.packaging import package_all


def package(
    out: Path = typer.Option(Path("build/dist"), "--out", help="Directory for the artifacts."),
    local: bool = typer.Option(
        False,
        "--local",
        help="Lambda zips for the embedded local cloud (requirements come from this venv, "
        "not manylinux wheels for the Lambda runtime).",
    ),
) -> None:
    """Build reproducible artifacts (two builds give identical bytes), a VERSION and SHA256SUMS.

    Upload them with ``aws s3 sync OUT s3://BUCKET/reslab/$(cat OUT/VERSION)/`` and deploy
    OUT/installer.yaml with ArtifactPrefix=reslab/<VERSION>/ (docs/install-aws.md).
    """
    for path in package_all(out, local=local):
        typer.echo(path)


def register(app: typer.Typer) -> None:
    app.command("package")(package)
