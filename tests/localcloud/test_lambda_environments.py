"""Warm Lambda execution environments in the local cloud, as AWS reuses them: real child
processes, reached through the Lambda API."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

import pytest

from reslab.localcloud.lambda_exec import pool_settings
from reslab.localcloud.testing import zip_files
from tests.localcloud.functions import HANDLER, REGION, alive, function, invoke, no_retry_client


def _wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_warm_environment_keeps_module_globals_and_its_log_stream(local_cloud):
    lam = no_retry_client(local_cloud)
    with function(local_cloud) as name:
        results = [invoke(lam, name)[0] for _ in range(3)]
        assert [r["count"] for r in results] == [1, 2, 3]
        assert len({r["pid"] for r in results}) == 1
        assert alive(results[0]["pid"])

        logs = local_cloud.client("logs", REGION)
        group = f"/aws/lambda/{name}"
        streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
        assert len(streams) == 1  # one stream per execution environment, as on AWS
        stream = streams[0]["logStreamName"]
        assert stream.endswith(tuple("0123456789abcdef")) and "[$LATEST]" in stream
        lines = [
            e["message"]
            for e in logs.get_log_events(logGroupName=group, logStreamName=stream)["events"]
        ]
        assert sum(line.startswith("START RequestId:") for line in lines) == 3
        reports = [line for line in lines if line.startswith("REPORT RequestId:")]
        assert len(reports) == 3
        assert ["Init Duration" in line for line in reports] == [True, False, False]
        assert all("Memory Size: 128 MB" in line for line in reports)


def test_tmp_belongs_to_the_environment(local_cloud):
    lam = no_retry_client(local_cloud)
    with function(local_cloud) as name:
        first, _ = invoke(lam, name, write="kept")
        assert first["tmp"] != tempfile.gettempdir()  # not the machine's /tmp
        second, _ = invoke(lam, name)
        assert second["pid"] == first["pid"]
        assert second["tmp"] == first["tmp"]
        assert second["files"] == ["kept"]  # /tmp survives between invocations

        # a second environment (two invocations at once) has its own, empty /tmp
        results: list[dict] = []
        threads = [
            threading.Thread(target=lambda: results.append(invoke(lam, name, sleep=1.0)[0]))
            for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len({r["pid"] for r in results}) == 2
        other = next(r for r in results if r["pid"] != first["pid"])
        assert other["tmp"] != first["tmp"]
        assert other["files"] == []

    # a new code version ends the old environment, and its /tmp with it
    with function(local_cloud) as name:
        before, _ = invoke(lam, name, write="old")
        local_cloud.client("lambda", REGION).update_function_code(
            FunctionName=name, ZipFile=zip_files({"app.py": HANDLER + "\n# v2\n"})
        )
        after, _ = invoke(lam, name)
        assert after["files"] == []
        assert not Path(before["tmp"]).exists()  # the old environment and its /tmp are gone


def test_new_code_version_or_configuration_starts_a_new_environment(local_cloud):
    lam = no_retry_client(local_cloud)
    api = local_cloud.client("lambda", REGION)
    with function(local_cloud) as name:
        first = [invoke(lam, name)[0] for _ in range(2)]
        assert [r["count"] for r in first] == [1, 2]

        api.update_function_code(
            FunctionName=name, ZipFile=zip_files({"app.py": HANDLER + "\n# v2\n"})
        )
        new_code, _ = invoke(lam, name)
        assert new_code["count"] == 1
        assert new_code["pid"] != first[0]["pid"]
        assert _wait_until(lambda: not alive(first[0]["pid"]))

        api.update_function_configuration(
            FunctionName=name, Environment={"Variables": {"MARKER": "configured"}}
        )
        new_config, _ = invoke(lam, name)
        assert (new_config["count"], new_config["marker"]) == (1, "configured")
        assert new_config["pid"] != new_code["pid"]
        assert _wait_until(lambda: not alive(new_code["pid"]))


def test_idle_environment_ends_after_the_idle_timeout(local_cloud):
    lam = no_retry_client(local_cloud)
    with function(local_cloud) as name, pool_settings(idle_timeout=0.5):
        first, _ = invoke(lam, name)
        assert invoke(lam, name)[0]["pid"] == first["pid"]  # still warm
        assert _wait_until(lambda: not alive(first["pid"]))  # ended while idle
        again, _ = invoke(lam, name)
        assert again["pid"] != first["pid"]
        assert again["count"] == 1
        assert not Path(first["tmp"]).exists()


@pytest.mark.parametrize(
    ("event", "detail"),
    [
        ({"exit": 3}, "exit status 3"),
        ({"signal": "SIGKILL"}, "signal: killed"),
        ({"signal": "SIGSEGV"}, "signal: segmentation fault"),
    ],
)
def test_crash_fails_the_invocation_and_replaces_the_environment(local_cloud, event, detail):
    lam = no_retry_client(local_cloud)
    with function(local_cloud) as name:
        warm, _ = invoke(lam, name)
        body, error = invoke(lam, name, **event)
        assert error == "Unhandled"
        assert body["errorType"] == "Runtime.ExitError"
        assert body["errorMessage"].startswith("RequestId: ")
        assert body["errorMessage"].endswith(f"Error: Runtime exited with error: {detail}")
        assert not alive(warm["pid"])
        after, error = invoke(lam, name)
        assert error is None
        assert after["pid"] != warm["pid"]
        assert after["count"] == 1


@pytest.mark.parametrize("hold", [1.0, 0.0], ids=["held", "spike"])
def test_memory_above_memory_size_kills_the_environment(local_cloud, hold):
    lam = no_retry_client(local_cloud)
    with function(local_cloud, MemorySize=128) as name:
        fits, error = invoke(lam, name, allocate_mb=20)
        assert error is None, fits
        body, error = invoke(lam, name, allocate_mb=200, hold=hold)
        assert error
        assert body["errorType"] == "Runtime.ExitError"
        assert body["errorMessage"].endswith("Error: Runtime exited with error: signal: killed")
        assert not alive(fits["pid"])
        after, error = invoke(lam, name)
        assert error is None
        assert (after["count"], after["pid"] != fits["pid"]) == (1, True)


def test_timeout_kills_the_environment(local_cloud, tmp_path):
    lam = no_retry_client(local_cloud)
    started = tmp_path / "started"
    with function(local_cloud, Timeout=2) as name:
        body, error = invoke(lam, name, sleep=30, started=str(started))
        assert error
        assert body["errorType"] == "Sandbox.Timedout"
        assert body["errorMessage"].endswith("Error: Task timed out after 2.00 seconds")
        assert not alive(int(started.read_text()))  # AWS ends the environment
        after, error = invoke(lam, name)
        assert error is None
        assert after["count"] == 1


def test_timeout_clock_does_not_count_the_init_phase(local_cloud):
    lam = no_retry_client(local_cloud)
    slow_init = {"Variables": {"INIT_SLEEP": "2.5"}}
    with function(local_cloud, Timeout=2, Environment=slow_init) as name:
        body, error = invoke(lam, name)
        assert error is None, body
        assert body["remaining_ms"] > 1000


@pytest.mark.parametrize(
    ("handler", "code", "error_type", "message"),
    [
        (
            "missing.handler",
            HANDLER,
            "Runtime.ImportModuleError",
            "Unable to import module 'missing': No module named 'missing'",
        ),
        (
            "app.nothere",
            HANDLER,
            "Runtime.HandlerNotFound",
            "Handler 'nothere' missing on module 'app'",
        ),
        (
            "app.handler",
            "def handler(:\n",
            "Runtime.UserCodeSyntaxError",
            "Syntax error in module 'app'",
        ),
        ("app.handler", "raise ValueError('no config')\n", "ValueError", "no config"),
    ],
    ids=["import", "handler", "syntax", "init-exception"],
)
def test_init_errors_are_reported_as_aws_does(local_cloud, handler, code, error_type, message):
    lam = no_retry_client(local_cloud)
    with function(local_cloud, code, Handler=handler) as name:
        for _ in range(2):  # the failed environment is not kept: the next call fails the same
            body, error = invoke(lam, name)
            assert error == "Unhandled"
            assert body["errorType"] == error_type
            assert body["errorMessage"].startswith(message)


def test_environment_variables_and_context_are_per_environment(local_cloud):
    lam = no_retry_client(local_cloud)
    code = (
        "import os\n"
        "def handler(event, context):\n"
        "    return {k: os.environ.get(k) for k in ('AWS_LAMBDA_LOG_STREAM_NAME', '_HANDLER',"
        " 'TMPDIR', 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE')} | {'stream': context.log_stream_name,"
        " 'request': context.aws_request_id}\n"
    )
    with function(local_cloud, code, MemorySize=256) as name:
        first, second = invoke(lam, name)[0], invoke(lam, name)[0]
        assert first["AWS_LAMBDA_LOG_STREAM_NAME"] == first["stream"] == second["stream"]
        assert first["_HANDLER"] == "app.handler"
        assert first["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
        assert first["request"] != second["request"]
        assert os.path.isdir(first["TMPDIR"])
