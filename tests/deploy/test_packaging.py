"""Reproducible artifacts: two builds give the same bytes; zips carry the shared lib."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from reslab import packaging
from reslab.functions import Function, function

PYTHON = sys.executable


def test_two_package_runs_give_identical_bytes(tmp_path: Path) -> None:
    first = packaging.package_all(tmp_path / "a")
    second = packaging.package_all(tmp_path / "b")
    assert [p.name for p in first] == [p.name for p in second]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    names = {p.name for p in first}
    assert {"create_stack.zip", "validate_event.zip", "webapp.tar.gz", "SHA256SUMS"} <= names
    # what the installer stack reads: every Lambda, the three machines, the template itself
    assert {f"{f.name}.zip" for f in packaging.lambda_folders()} <= names
    assert {"deploy.asl.json", "teardown.asl.json", "restore.asl.json", "installer.yaml"} <= names
    version = (tmp_path / "a" / "VERSION").read_text().strip()
    assert version == packaging.artifact_version(packaging.installer_artifacts())


def test_artifact_version_changes_with_any_artifact() -> None:
    built = packaging.installer_artifacts(local=True)
    base = packaging.artifact_version(built)
    for name in ("installer.yaml", "deploy.asl.json", "backup_checks.zip"):
        changed = {**built, name: built[name] + b"\n"}
        assert packaging.artifact_version(changed) != base, name


def test_lambda_zip_layout_timestamps_and_modes() -> None:
    data = packaging.lambda_zip(packaging.LAMBDAS_DIR / "create_stack")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names)
        assert "lambda_function.py" in names
        assert "reslab_lambda/cfn.py" in names and "reslab_lambda/stacks.json" in names
        assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", "Makefile"))]
        assert {i.date_time for i in infos} == {packaging.ZIP_EPOCH}
        assert {i.external_attr >> 16 for i in infos} == {0o100644}
        table = archive.read("reslab_lambda/stacks.json")
    assert table == packaging.STACK_TABLE.read_bytes()


def test_the_zip_runs_without_reslab(tmp_path: Path) -> None:
    """The handler imports only what the zip carries (never the reslab package)."""
    data = packaging.lambda_zip(packaging.LAMBDAS_DIR / "validate_event")
    zipfile.ZipFile(io.BytesIO(data)).extractall(tmp_path)
    code = (
        "import sys; sys.modules['reslab'] = None; import lambda_function as f, reslab_lambda;"
        "print(reslab_lambda.__file__); f.lambda_handler({'log_level': 'INFO'}, None)"
    )
    # -S: no site-packages (so not the editable install either), only the extracted zip.
    result = subprocess.run([PYTHON, "-S", "-c", code], cwd=tmp_path, capture_output=True,
                            text=True)  # fmt: skip
    assert result.stdout.startswith(str(tmp_path))
    assert "InvalidEvent: region_name: missing" in result.stderr


def test_makefile_builds_the_same_zip(tmp_path: Path) -> None:
    folder = packaging.LAMBDAS_DIR / "stack_status"
    subprocess.run(["make", "-s", "-C", str(folder), f"PYTHON={PYTHON}"], check=True,
                   capture_output=True)  # fmt: skip
    built = packaging.LAMBDAS_DIR / "stack_status.zip"
    assert built.read_bytes() == packaging.lambda_zip(folder)


def test_requirements_are_vendored_for_the_lambda_runtime(tmp_path: Path) -> None:
    row = Function("x", "restore", 1, requirements=("boto3==1.35", "requests>=2"))
    assert packaging.requirements(row) == ["requests>=2"]
    command = packaging.pip_command(["requests>=2"], tmp_path / "t")
    joined = " ".join(command)
    assert "--platform manylinux2014_x86_64" in joined
    assert "--only-binary=:all:" in joined and "--python-version 3.12" in joined
    assert command[-1] == "requests>=2"
    assert packaging.vendored_files(function("create_stack")) == {}


def test_every_lambda_folder_is_catalogued_and_carries_what_its_row_says() -> None:
    on_disk = sorted(p.parent for p in packaging.LAMBDAS_DIR.glob("*/lambda_function.py"))
    assert on_disk == packaging.lambda_folders()
    assert not list(packaging.LAMBDAS_DIR.glob("*/vendor.txt"))  # the catalogue says it
    assert not list(packaging.LAMBDAS_DIR.glob("*/requirements.txt"))
    data = packaging.local_lambda_zip(packaging.LAMBDAS_DIR / "backup_notify")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
    assert {"reslab/slack.py", "reslab/restore/steps.py", "lambda_function.py"} <= names
    assert not [n for n in names if n.startswith("reslab/checks/")]


def test_webapp_tarball_is_normalised() -> None:
    data = packaging.webapp_tarball()
    assert data == packaging.webapp_tarball()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
    assert members and all(m.mtime == 0 and m.uid == 0 for m in members)
    assert [m.name for m in members] == sorted(m.name for m in members)


def test_an_archive_is_built_once_per_content() -> None:
    zip_bytes, tar_gz_bytes = packaging.zip_bytes, packaging.tar_gz_bytes
    files = {"a.txt": b"alpha", "b/c.py": b"print(1)\n"}
    first = zip_bytes(files)
    assert zip_bytes(dict(files)) is first  # the same bytes object: built once
    changed = zip_bytes({**files, "a.txt": b"alphA"})
    assert changed != first
    with zipfile.ZipFile(io.BytesIO(changed)) as archive:
        assert archive.read("a.txt") == b"alphA"
    assert tar_gz_bytes(files) is tar_gz_bytes(files)
    assert tar_gz_bytes(files, {"a.txt": 0o755}) != tar_gz_bytes(files)
