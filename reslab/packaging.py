"""Reproducible build artifacts: one zip per Lambda function, the web-app tarball, the bootstrap.

Two builds of the same sources give identical bytes: entries sorted, timestamps 1980-01-01,
permissions fixed, no ``__pycache__``. Each Lambda zip holds its folder's files, the shared
``reslab_lambda`` package (lambdas/shared) with the stack table, the repo sources its row of the
function catalogue (``reslab.functions``) says it carries, and its pip requirements vendored with
manylinux wheels for Python 3.12 (boto3/botocore are in the Lambda runtime: never vendored).

``python -m reslab.packaging lambdas/create_stack --out lambdas`` builds
``lambdas/create_stack.zip`` (what each Lambda folder's Makefile runs).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from pathlib import Path

from reslab import REPO_ROOT
from reslab.functions import FUNCTIONS, STACK_FUNCTIONS, Function, function, stack_functions
from reslab_lambda.stacks import stack_table

LAMBDAS_DIR = REPO_ROOT / "lambdas"
SHARED_PACKAGE = LAMBDAS_DIR / "shared" / "reslab_lambda"
STACK_TABLE = REPO_ROOT / "cloudformation" / "stacks.json"
WEBAPP_DIR = REPO_ROOT / "webapp"
BOOTSTRAP = REPO_ROOT / "bootstrap" / "bootstrap.sh"
STATEMACHINE_DIR = REPO_ROOT / "statemachine"
INSTALLER_TEMPLATE = REPO_ROOT / "cloudformation" / "installer.yaml"
#: The installed version's lab templates by SHA-256 (the deploy machine creates stacks only from
#: templates matching it): an installer artifact, so part of the content-addressed version.
TEMPLATE_MANIFEST = "templates.json"
VENDOR_CACHE = REPO_ROOT / "build" / "cache" / "vendor"
STACK_TABLE_ENTRY = "reslab_lambda/" + STACK_TABLE.name
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
EXEC_MODE = 0o755
#: Never copied into an artifact.
SKIP_NAMES = frozenset({"__pycache__", "Makefile", ".pytest_cache", "tests"})
SKIP_SUFFIXES = (".pyc", ".pyo", ".zip")
#: Provided by the Lambda runtime; vendoring them only bloats the zip.
RUNTIME_PACKAGES = frozenset({"boto3", "botocore", "s3transfer", "jmespath"})
#: The Lambda runtime every function is built for and installed with.
RUNTIME = "python3.12"
HANDLER = "lambda_function.lambda_handler"
PIP_PLATFORM_ARGS = (
    "--platform",
    "manylinux2014_x86_64",
    "--only-binary=:all:",
    "--python-version",
    RUNTIME.removeprefix("python"),
    "--implementation",
    "cp",
)


def _wanted(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    return not any(p in SKIP_NAMES for p in parts) and not path.name.endswith(SKIP_SUFFIXES)


def tree_files(root: Path, prefix: str = "") -> dict[str, bytes]:
    """Every file under ``root`` (skipping caches and build files), keyed by archive name."""
    return {
        prefix + path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and _wanted(path, root)
    }


#: Archives already built, by a digest of what went in: an install builds one zip per Lambda and
#: the web bundle, and a fleet or a test session installs the same sources dozens of times
#: (compressing them was 5 % of a 21-lab fleet's CPU; hashing them costs a tenth of that).
_ARCHIVES_KEPT = 64
_archives: OrderedDict[bytes, bytes] = OrderedDict()
_archives_lock = threading.Lock()


def _memoised(
    kind: str, files: Mapping[str, bytes], modes: Mapping[str, int] | None
) -> tuple[bytes, bytes | None]:
    """The archive's key, and the archive if it was built before."""
    digest = hashlib.sha256(kind.encode())
    for name in sorted(files):
        mode = (modes or {}).get(name, FILE_MODE)
        digest.update(f"\0{name}\0{mode}\0{len(files[name])}\0".encode())
        digest.update(files[name])
    key = digest.digest()
    with _archives_lock:
        cached = _archives.get(key)
        if cached is not None:
            _archives.move_to_end(key)
    return key, cached


def _remember(key: bytes, archive: bytes) -> bytes:
    with _archives_lock:
        _archives[key] = archive
        while len(_archives) > _ARCHIVES_KEPT:
            _archives.popitem(last=False)
    return archive


def zip_bytes(files: Mapping[str, bytes]) -> bytes:
    """A zip of ``files`` that depends on nothing but their names and contents."""
    key, cached = _memoised("zip", files, None)
    if cached is not None:
        return cached
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.create_system = 3  # unix, so external_attr means POSIX permissions
            info.external_attr = (0o100000 | FILE_MODE) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name], compresslevel=6)
    return _remember(key, buffer.getvalue())


def tar_gz_bytes(files: Mapping[str, bytes], modes: Mapping[str, int] | None = None) -> bytes:
    """A gzip'd tar of ``files``: sorted, mtime 0, root-owned, gzip header without a timestamp."""
    key, cached = _memoised("tar.gz", files, modes)
    if cached is not None:
        return cached
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(files[name]), 0
            info.mode = (modes or {}).get(name, FILE_MODE)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(files[name]))
    return _remember(key, gzip.compress(raw.getvalue(), compresslevel=9, mtime=0))


def requirements(fn: Function) -> list[str]:
    """The function's pip requirements, minus the packages the Lambda runtime provides."""
    return [line for line in fn.requirements if _project(line) not in RUNTIME_PACKAGES]


def _project(requirement: str) -> str:
    name = requirement
    for sep in "<>=!~[; ":
        name = name.split(sep, 1)[0]
    return name.lower().replace("_", "-")


def pip_command(reqs: Iterable[str], target: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-compile",
        "--target",
        str(target),
        *PIP_PLATFORM_ARGS,
        *reqs,
    ]


def vendor_cache_dir(reqs: list[str]) -> Path:
    """Where the vendored tree for exactly these requirements (and platform) is kept."""
    key = hashlib.sha256("\n".join([*PIP_PLATFORM_ARGS, *sorted(reqs)]).encode()).hexdigest()
    return VENDOR_CACHE / key[:24]


def vendored_files(fn: Function) -> dict[str, bytes]:
    """The function's requirements installed for the Lambda runtime, as archive entries.

    pip runs once per distinct requirement set; the tree is kept in build/cache/vendor (delete
    it, or ``make clean``, to pick up new releases of unpinned requirements).
    """
    reqs = requirements(fn)
    if not reqs:
        return {}
    cached = vendor_cache_dir(reqs)
    if not cached.is_dir():
        cached.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cached.parent) as tmp:
            target = Path(tmp) / "site"
            subprocess.run(pip_command(reqs, target), check=True)
            target.rename(cached)
    files = tree_files(cached)
    return {
        name: data
        for name, data in files.items()
        if _project(name.split("/", 1)[0].split("-", 1)[0]) not in RUNTIME_PACKAGES
    }


def vendored_sources(fn: Function) -> dict[str, bytes]:
    """The repo files/folders the function carries (e.g. ``reslab/checks``), copied under the
    same path: lets a Lambda use reslab modules."""
    files: dict[str, bytes] = {}
    for rel in fn.carries:
        source = REPO_ROOT / rel
        if source.is_dir():
            files.update(tree_files(source, rel.rstrip("/") + "/"))
        else:
            files[rel] = source.read_bytes()
    return files


def lambda_files(folder: Path, vendor: bool = True) -> dict[str, bytes]:
    """What one Lambda zip holds: vendored packages (unless ``vendor`` is false), the shared lib +
    stack table, the repo sources it carries, the handler (the folder's files)."""
    fn = function(folder.name)
    files = vendored_files(fn) if vendor else {}
    files.update(vendored_sources(fn))
    files.update(tree_files(SHARED_PACKAGE, "reslab_lambda/"))
    files[STACK_TABLE_ENTRY] = STACK_TABLE.read_bytes()
    files.update(tree_files(folder))
    return files


def lambda_zip(folder: Path) -> bytes:
    return zip_bytes(lambda_files(folder))


def lambda_folders() -> list[Path]:
    """Every catalogued function's folder (the installer's and the lab stacks'), by name."""
    return sorted(LAMBDAS_DIR / fn.folder for fn in (*FUNCTIONS, *STACK_FUNCTIONS))


def webapp_tarball() -> bytes:
    return tar_gz_bytes(tree_files(WEBAPP_DIR, "webapp/"))


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def build_lambda(folder: Path, out_dir: Path) -> Path:
    return _write(out_dir / f"{folder.name}.zip", lambda_zip(folder))


def local_lambda_zip(folder: Path) -> bytes:
    """A Lambda zip for the LOCAL cloud: like :func:`lambda_zip` minus the pip requirements (the
    child process runs on this venv, which has them; manylinux wheels built for the Lambda
    runtime's Python would not load here)."""
    return zip_bytes(lambda_files(folder, vendor=False))


def installer_artifacts(local: bool = False) -> dict[str, bytes]:
    """What the installer stack reads under ArtifactBucket/ArtifactPrefix: one zip per Lambda
    (``local``: the local cloud's flavour), the state machines' ASL, and the installer template
    itself (so that its content is part of the version too)."""
    build = local_lambda_zip if local else lambda_zip
    files = {f"{fn.folder}.zip": build(LAMBDAS_DIR / fn.folder) for fn in FUNCTIONS}
    for path in sorted(STATEMACHINE_DIR.glob("*.asl.json")):
        files[path.name] = path.read_bytes()
    files[TEMPLATE_MANIFEST] = template_manifest()
    files[INSTALLER_TEMPLATE.name] = INSTALLER_TEMPLATE.read_bytes()
    return files


def stack_code(stack_key: str, local: bool = False) -> dict[str, bytes]:
    """The zips of the functions lab stack ``stack_key`` creates (``local``: the local cloud's
    flavour), by file name: Lambda reads code only from a bucket in its own region, so the
    installer puts these where that stack lives."""
    build = local_lambda_zip if local else lambda_zip
    return {f"{fn.folder}.zip": build(LAMBDAS_DIR / fn.folder) for fn in stack_functions(stack_key)}


def template_manifest(templates: Mapping[str, bytes] | None = None) -> bytes:
    """``{"sha256": {"vpc.yaml": "<hex>", ...}}`` of the stack table's templates (``templates``:
    file name -> content, default the repository's)."""
    if templates is None:
        templates = {
            spec.template_file: (REPO_ROOT / spec.template_path).read_bytes()
            for spec in stack_table()
        }
    digests = {name: hashlib.sha256(body).hexdigest() for name, body in sorted(templates.items())}
    return (json.dumps({"sha256": digests}, indent=1, sort_keys=True) + "\n").encode()


def artifact_version(files: Mapping[str, bytes]) -> str:
    """A content hash of ``files``: the ArtifactPrefix folder (``reslab/<version>/``), so any
    change to any artifact gives new S3 keys and the stack update replaces the code."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(f"{name}\0{hashlib.sha256(files[name]).hexdigest()}\n".encode())
    return digest.hexdigest()[:16]


def package_all(out_dir: Path, local: bool = False) -> list[Path]:
    """Build every artifact into ``out_dir``: the installer's (Lambda zips, ASL, template), the
    lab stacks' Lambda zips (:func:`stack_code`), the web-app tarball, the bootstrap, a VERSION
    (the installer artifacts' content hash) and a SHA256SUMS of them all; returns the paths."""
    artifacts = installer_artifacts(local)
    built = [_write(out_dir / name, data) for name, data in artifacts.items()]
    for stack_key in sorted({fn.stack for fn in STACK_FUNCTIONS if fn.stack}):
        built += [_write(out_dir / n, data) for n, data in stack_code(stack_key, local).items()]
    if WEBAPP_DIR.is_dir():
        built.append(_write(out_dir / "webapp.tar.gz", webapp_tarball()))
    if BOOTSTRAP.exists():
        target = out_dir / BOOTSTRAP.name
        shutil.copyfile(BOOTSTRAP, target)
        target.chmod(EXEC_MODE)
        built.append(target)
    built.append(_write(out_dir / "VERSION", f"{artifact_version(artifacts)}\n".encode()))
    sums = "".join(
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n" for p in sorted(built)
    )
    built.append(_write(out_dir / "SHA256SUMS", sums.encode()))
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reslab.packaging", description=__doc__)
    parser.add_argument("folders", nargs="*", type=Path, help="Lambda folders (default: all)")
    parser.add_argument("--out", type=Path, default=LAMBDAS_DIR, help="where the zips go")
    args = parser.parse_args(argv)
    for folder in args.folders or lambda_folders():
        print(build_lambda(folder.resolve(), args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
