"""A Lambda function for the execution-environment tests: one handler whose event says what to
do (sleep, crash, allocate, write to /tmp) and whose result says where it ran."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from reslab.localcloud.testing import lambda_role, unique_prefix, zip_files

REGION = "us-east-2"

HANDLER = """
import os
import signal
import tempfile
import time

INIT_SLEEP = float(os.environ.get("INIT_SLEEP", "0"))
time.sleep(INIT_SLEEP)  # a slow init phase (imports, connections)
count = 0


def handler(event, context):
    global count
    count += 1
    start = time.time()
    if event.get("started"):  # tell the test the handler runs
        open(event["started"], "w").write(str(os.getpid()))
    if event.get("write"):
        with open(os.path.join(tempfile.gettempdir(), event["write"]), "w") as f:
            f.write(str(os.getpid()))
    if event.get("allocate_mb"):
        hog = b"x" * (event["allocate_mb"] << 20)
        time.sleep(event.get("hold", 0))
        del hog
    if event.get("exit") is not None:
        os._exit(event["exit"])
    if event.get("signal"):
        os.kill(os.getpid(), getattr(signal, event["signal"]))
    time.sleep(event.get("sleep", 0))
    return {
        "count": count,
        "pid": os.getpid(),
        "tmp": tempfile.gettempdir(),
        "files": sorted(os.listdir(tempfile.gettempdir())),
        "start": start,
        "end": time.time(),
        "remaining_ms": context.get_remaining_time_in_millis(),
        "marker": os.environ.get("MARKER", ""),
    }
"""


def create(cloud: Any, code: str = HANDLER, **settings: Any) -> str:
    """Create a function running ``code`` as ``app.handler``; returns its name."""
    name = unique_prefix("env")
    cloud.client("lambda", REGION).create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=lambda_role(cloud),
        Handler=settings.pop("Handler", "app.handler"),
        Code={"ZipFile": zip_files({"app.py": code})},
        **{"Timeout": 10, "MemorySize": 128, **settings},
    )
    return name


@contextmanager
def function(cloud: Any, code: str = HANDLER, **settings: Any) -> Iterator[str]:
    name = create(cloud, code, **settings)
    try:
        yield name
    finally:
        cloud.client("lambda", REGION).delete_function(FunctionName=name)


def no_retry_client(cloud: Any) -> Any:
    """A Lambda client that shows throttling instead of retrying it (boto3 retries 429)."""
    return boto3.client(
        "lambda",
        region_name=REGION,
        endpoint_url=cloud.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's fake credentials
        config=Config(retries={"total_max_attempts": 1}, read_timeout=120),
    )


def invoke(client: Any, name: str, **event: Any) -> tuple[dict[str, Any], str | None]:
    """(payload, FunctionError or None)."""
    resp = client.invoke(FunctionName=name, Payload=json.dumps(event))
    return json.loads(resp["Payload"].read()), resp.get("FunctionError")


def alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"
