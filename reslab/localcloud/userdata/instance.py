"""One web instance: its launch template's user data run for real, then its health.

:func:`boot` writes the user data CloudFormation rendered to the instance's root directory and
runs it under bash, as cloud-init does, with :func:`instance_environment`: the shims of
``bin/`` first on ``PATH`` (``dnf``, ``systemctl``, ``useradd``, ``sleep``), ``BOOT_ROOT`` (the
instance's ``/``, which the user data and bootstrap.sh write under), ``WEBAPP_VENV`` (the local
cloud's venv: no ``pip install``) and the instance metadata service (:mod:`.imds`), which
serves the instance profile's role credentials (:mod:`.credentials`): the environment has no
keys, so botocore and the AWS CLI find them there, as on EC2. Everything else is real: ``aws s3
cp`` of the bootstrap object and of ``webapp.tar.gz`` from the local S3, the secret, the table,
``gunicorn`` started by the ``systemctl`` shim. Its output is the console log
(``GetConsoleOutput``); the instance is healthy when ``/healthcheck`` answers 200 on its port,
as the target group checks it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from reslab.localcloud.network.service import instance_environment as network_environment
from reslab.localcloud.userdata.credentials import role_credentials
from reslab.localcloud.userdata.imds import MetadataService, instance_metadata

BIN_DIR = Path(__file__).with_name("bin")
UNIT = "webapp.service"
#: The user data's own bound (its 6 fetch attempts, the schema wait, the app's start).
USER_DATA_TIMEOUT_S = 300.0
#: After the user data: how long the app has to answer its health check.
HEALTH_TIMEOUT_S = 60.0
TAIL_LINES = 12


@dataclass(frozen=True)
class LaunchSpec:
    """What the Auto Scaling group launches: one instance of its launch template."""

    instance_id: str
    availability_zone: str
    region: str
    user_data: str
    #: The instance profile's ARN: its role's credentials are served by the metadata service.
    profile_arn: str | None
    endpoint_url: str
    time_scale: float | None = None


@dataclass
class Instance:
    spec: LaunchSpec
    root: Path
    port: int
    imds: MetadataService
    #: None while the user data runs; its exit status after.
    exit_status: int | None = None
    healthy: bool = False
    reason: str = ""
    #: ``time.monotonic()`` when it launched (Auto Scaling's grace period counts from there).
    launched_at: float = field(default_factory=time.monotonic)

    @property
    def console_log(self) -> Path:
        return self.root / "var" / "log" / "cloud-init-output.log"

    def console_tail(self, lines: int = TAIL_LINES) -> str:
        text = self.console_log.read_text(errors="replace") if self.console_log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def unit_pid(self) -> int | None:
        pid_file = self.root / "run" / f"{UNIT}.pid"
        return int(pid_file.read_text()) if pid_file.exists() else None

    def unit_running(self) -> bool:
        pid = self.unit_pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return not _is_zombie(pid)

    def stop(self) -> None:
        """Terminate the instance: its service's process group, then its metadata service."""
        pid = self.unit_pid()
        if pid is not None:
            _kill_group(pid)
        self.imds.stop()


def instance_environment(spec: LaunchSpec, root: Path, port: int, imds_url: str) -> dict[str, str]:
    """The environment of every process of the instance (the user data, and through the
    ``systemctl`` shim its services). The one place to extend it:

    * credentials: none in the environment (nor a shared credentials or config file): the
      instance's processes get the instance profile's role from the metadata service at
      ``imds_url``, as on EC2; without a profile they have none;
    * network: the instance is a caller of the network model (its processes resolve the
      database's endpoint name as the instance: its subnet and security groups decide) through
      the resolver shim on ``PYTHONPATH``, which bootstrap.sh keeps after its own entry (on
      EC2 the user data has no ``PYTHONPATH``: the line is the same as before).
    """
    inherited = ("AWS_", "WEBAPP_", "BOOT_", "RESLAB_", "PYTHON")
    env = {k: v for k, v in os.environ.items() if not k.startswith(inherited)}
    env.update(
        {
            "PATH": os.pathsep.join([str(BIN_DIR), str(Path(sys.executable).parent), env["PATH"]]),
            "HOME": str(root / "root"),
            "AWS_ENDPOINT_URL": spec.endpoint_url,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,  # never the user's own credentials
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds_url,
            "BOOT_ROOT": str(root),
            "WEBAPP_VENV": sys.prefix,
            "WEBAPP_PORT": str(port),
            "WEBAPP_WORKERS": "1",
            "SCHEMA_WAIT_SECONDS": "30",
            "RESLAB_INSTANCE_PYTHON": sys.executable,
        }
    )
    if spec.time_scale:
        env["RESLAB_INSTANCE_TIME_SCALE"] = str(spec.time_scale)
    return network_environment(spec.region, spec.instance_id, env)


def boot(spec: LaunchSpec, root: Path, port: int) -> Instance:
    """Run the user data to its end, then wait for the health check (both bounded)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "root").mkdir(exist_ok=True)
    script = root / "var" / "lib" / "cloud" / "instance" / "user-data.txt"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(spec.user_data)
    metadata = instance_metadata(spec.instance_id, spec.availability_zone, spec.region)
    credentials = role_credentials(spec.profile_arn, spec.instance_id, spec.region)
    instance = Instance(spec, root, port, MetadataService(metadata, credentials).start())
    instance.console_log.parent.mkdir(parents=True, exist_ok=True)
    env = instance_environment(spec, root, port, instance.imds.url)
    with open(instance.console_log, "ab") as console:
        try:
            instance.exit_status = subprocess.run(  # noqa: S603 - the stack's own user data
                ["bash", str(script)],
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                timeout=USER_DATA_TIMEOUT_S,
                check=False,
            ).returncode
        except subprocess.TimeoutExpired:
            instance.exit_status = -1
    if instance.exit_status != 0:
        instance.reason = f"the user data exited with status {instance.exit_status}"
    else:
        _wait_healthy(instance)
    if not instance.healthy:
        with open(instance.console_log, "a") as console:
            console.write(f"reslab local cloud: instance unhealthy: {instance.reason}\n")
    return instance


def _wait_healthy(instance: Instance) -> None:
    url = f"http://127.0.0.1:{instance.port}/healthcheck"
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    instance.healthy = True
                    return
        except urllib.error.HTTPError as exc:
            instance.reason = f"/healthcheck answered {exc.code}"
        except OSError:
            instance.reason = f"nothing answers on port {instance.port} (/healthcheck)"
        if not instance.unit_running():
            instance.reason = f"{UNIT} is not running (see {instance.root}/var/log/{UNIT}.log)"
            return
        time.sleep(0.1)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return False


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        if _is_zombie(pid):
            return
        time.sleep(0.05)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
