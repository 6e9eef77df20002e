"""``LocalCloud``: moto's server in-process, with the reslab compatibility layers switched on.

    with LocalCloud() as cloud:
        sfn = cloud.client("stepfunctions", "us-east-2")

Only one LocalCloud can run per process: moto's backends are process-global and its Step Functions
interpreter finds the server through the process-wide ``MOTO_PORT`` variable. moto's handlers are
not thread-safe, so the server runs them one at a time (``reslab.localcloud.serialise``).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.request import Request, urlopen

import boto3
from botocore.config import Config

from reslab.errors import LocalCloudError
from reslab.localcloud import lambda_exec
from reslab.localcloud.context import cloud_context

DEFAULT_REGION = "us-east-1"
_lock = threading.Lock()
_running: LocalCloud | None = None


#: ``RESLAB_LOCAL_IAM=0``/``1`` overrides the default of ``LocalCloud(iam=None)``.
IAM_ENV = "RESLAB_LOCAL_IAM"
IAM_DEFAULT = True
IAM_OFF_NOTICE = "IAM enforcement is OFF (debugging only)"


def iam_default() -> bool:
    """Whether a LocalCloud enforces IAM when not told: ``RESLAB_LOCAL_IAM``, else the default."""
    raw = os.environ.get(IAM_ENV, "").strip().lower()
    if raw in ("0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    return IAM_DEFAULT


class LocalCloud:
    """An AWS look-alike on 127.0.0.1 (see docs/local-cloud.md)."""

    def __init__(
        self,
        db_url: str | None = None,
        time_scale: float | None = None,
        state_dir: str | os.PathLike[str] | None = None,
        port: int = 0,
        lambda_concurrency: int | None = None,
        iam: bool | None = None,
    ) -> None:
        if time_scale is not None and time_scale <= 0:
            raise LocalCloudError("time_scale must be > 0 (or None for no hold)")
        self.db_url = db_url
        self._time_scale = time_scale
        self.port = port
        #: Lambda invocations running at once (None: RESLAB_LAMBDA_CONCURRENCY or 2 x cores).
        self.lambda_concurrency = lambda_concurrency
        #: Whether every request is authorized against the caller's IAM policies (docs/iam.md).
        self.iam = iam_default() if iam is None else iam
        self._own_state_dir = state_dir is None
        self.state_dir = Path(state_dir) if state_dir else None
        self._server: Any = None
        self._endpoint = ""
        self._old_moto_port: str | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> LocalCloud:
        global _running
        from moto.core.config import default_user_config

        from reslab.localcloud import compat, serialise, speedups
        from reslab.localcloud.compat import iam_enforce

        with _lock:
            if _running is not None:
                raise LocalCloudError(
                    f"a LocalCloud is already running in this process at {_running.endpoint_url}"
                )
            _running = self
        try:
            lambda_exec.configure(self.lambda_concurrency)  # a bad setting fails before anything
            if self.state_dir is None:
                self.state_dir = Path(tempfile.mkdtemp(prefix="reslab-local-"))
            self.state_dir.mkdir(parents=True, exist_ok=True)
            _quiet_logs()
            default_user_config["stepfunctions"] = {"execute_state_machine": True}
            speedups.enable()
            compat.install_all()
            iam_enforce.enforcement.configure(self.iam)
            self._server = serialise.server("127.0.0.1", self.port)
            self._server.start()
            host, port = self._server.get_host_and_port()
            self._old_moto_port = os.environ.get("MOTO_PORT")
            self._endpoint = f"http://{host}:{port}"
            os.environ["MOTO_PORT"] = str(port)
            lambda_exec.endpoint.update(url=self._endpoint, port=str(port))
            cloud_context.configure(
                endpoint_url=self._endpoint,
                db_url=self.db_url,
                time_scale=self._time_scale,
                state_dir=self.state_dir,
            )
        except Exception as exc:
            self._teardown()
            raise LocalCloudError(f"the local cloud could not start: {exc}") from exc
        return self

    def stop(self) -> None:
        self._teardown()

    def _teardown(self) -> None:
        global _running
        with _lock:
            if _running is not self:  # not started, or stopped already
                return
        cloud_context.shutdown()
        _stop_enforcing()
        if self._server is not None:
            try:
                self._server.stop()
            finally:
                self._server = None
                _forget_moto_state()
        if self._endpoint:
            if self._old_moto_port is None:
                os.environ.pop("MOTO_PORT", None)
            else:
                os.environ["MOTO_PORT"] = self._old_moto_port
            self._endpoint = ""
        if self._own_state_dir and self.state_dir is not None:
            shutil.rmtree(self.state_dir, ignore_errors=True)
            self.state_dir = None
        with _lock:
            if _running is self:
                _running = None

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- use -----------------------------------------------------------------------------------
    @property
    def endpoint_url(self) -> str:
        if not self._endpoint or self._server is None:
            raise LocalCloudError("the local cloud is not running (call start())")
        return self._endpoint

    def client(self, service: str, region: str = DEFAULT_REGION) -> Any:
        """A boto3 client bound to the local cloud, signed with the caller's keys
        (:func:`caller_keys`: the standard variables, else the account's root user)."""
        return client_for(self.endpoint_url, service, region)

    @contextmanager
    def enforcing_iam(self, enabled: bool = True) -> Iterator[LocalCloud]:
        """``with cloud.enforcing_iam(): ...`` -- IAM enforced (or not) inside the block only
        (tests sharing one cloud); the access log is kept."""
        from reslab.localcloud.compat import iam_enforce

        previous = iam_enforce.enforcement.enabled
        iam_enforce.enforcement.enabled = enabled
        try:
            yield self
        finally:
            iam_enforce.enforcement.enabled = previous

    @property
    def access_log(self) -> Any:
        """Every IAM decision of this cloud (``reslab.iam.accesslog.AccessLog``)."""
        from reslab.localcloud.compat import iam_enforce

        return iam_enforce.enforcement.log

    def reset(self) -> None:
        """Forget every resource (moto reset), drop the backing databases, stop web apps."""
        cloud_context.reset()
        req = Request(f"{self.endpoint_url}/moto-api/reset", method="POST")  # noqa: S310
        with urlopen(req, timeout=30):  # noqa: S310 - local URL
            pass

    @property
    def time_scale(self) -> float | None:
        return self._time_scale

    @time_scale.setter
    def time_scale(self, value: float | None) -> None:
        """Applies to stacks created/deleted from now on (None: no hold)."""
        if value is not None and value <= 0:
            raise LocalCloudError("time_scale must be > 0 (or None for no hold)")
        self._time_scale = value
        if self._server is not None:
            cloud_context.time_scale = value

    @contextmanager
    def scaled_time(self, time_scale: float | None) -> Iterator[LocalCloud]:
        """``with cloud.scaled_time(60): ...`` -- the hold only for stacks touched inside."""
        previous = self.time_scale
        self.time_scale = time_scale
        try:
            yield self
        finally:
            self.time_scale = previous

    @contextmanager
    def failing_stacks(
        self, name_pattern: str, reason: str = "Injected failure (test hook)"
    ) -> Iterator[LocalCloud]:
        """``with cloud.failing_stacks("t123-*", "quota"): ...`` -- fail_stack, then undone."""
        self.fail_stack(name_pattern, reason)
        try:
            yield self
        finally:
            cloud_context.stack_faults.patterns.pop(name_pattern, None)

    def fail_stack(self, name_pattern: str, reason: str = "Injected failure (test hook)") -> None:
        """Make stacks whose name matches ``name_pattern`` (fnmatch) roll back on creation."""
        cloud_context.stack_faults.add(name_pattern, reason)

    def clear_stack_faults(self) -> None:
        cloud_context.stack_faults.clear()


def _quiet_logs() -> None:
    """No per-request lines; no ERROR dump of every failed ASL state (the execution's error and
    cause say it) unless RESLAB_LOCALCLOUD_DEBUG=1."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    if not os.environ.get("RESLAB_LOCALCLOUD_DEBUG"):
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)


def _stop_enforcing() -> None:
    from reslab.localcloud.compat import iam_enforce

    iam_enforce.enforcement.configure(False)


def _forget_moto_state() -> None:
    """moto's backends outlive the server thread: a later LocalCloud must start empty."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


#: moto's fake keys: no IAM user or role session of the cloud holds them, so they act as the
#: account's root user (as any key the cloud did not issue does).
ROOT_KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # noqa: S105
#: What ``reslab local up`` says under its ``export`` lines.
CALLER_NOTICE = (
    "# the CLI acts as the caller these variables name: moto's testing keys (or none) are the "
    "account's root user, an IAM user's or role session's keys of this cloud act as that principal"
)


def caller_keys() -> dict[str, str]:
    """The caller's keys, from the standard ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/
    ``AWS_SESSION_TOKEN``: an IAM user's or a role session's of the local cloud make every request
    authorized against that principal's policies, as AWS would. Unset (or empty): ``ROOT_KEYS``."""
    key = os.environ.get("AWS_ACCESS_KEY_ID", "").strip()
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY", "").strip()
    if not (key and secret):
        return dict(ROOT_KEYS)
    keys = {"aws_access_key_id": key, "aws_secret_access_key": secret}
    token = os.environ.get("AWS_SESSION_TOKEN", "").strip()
    if token:
        keys["aws_session_token"] = token
    return keys


def client_for(endpoint_url: str, service: str, region: str = DEFAULT_REGION) -> Any:
    """A client of the local cloud signed with :func:`caller_keys` (read when it is made)."""
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        config=Config(retries={"max_attempts": 2, "mode": "standard"}),
        **caller_keys(),
    )
