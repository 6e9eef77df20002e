"""The account's Lambda concurrency in the local cloud: at most N invocations at once, the rest
queued (their timeout clock not running), beyond the queue ``TooManyRequestsException`` (429),
which Step Functions names ``Lambda.TooManyRequestsException`` and a Retry recovers from."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reslab.errors import LocalCloudError
from reslab.localcloud import lambda_exec, serialise
from reslab.localcloud.lambda_exec import pool_settings
from reslab.localcloud.testing import lambda_role, unique_prefix, wait_for_execution
from tests.localcloud.functions import REGION, function, invoke, no_retry_client


def _concurrently(calls: list[Any]) -> list[Any]:
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@contextmanager
def _holding_the_only_slot(
    local_cloud, name: str, tmp_path: Path, seconds: float
) -> Iterator[None]:
    """One invocation runs for ``seconds`` (concurrency 1, no queue) while the block runs."""
    started = tmp_path / "holder-started"
    lam = no_retry_client(local_cloud)
    holder = threading.Thread(
        target=invoke, args=(lam, name), kwargs={"sleep": seconds, "started": str(started)}
    )
    holder.start()
    try:
        deadline = time.monotonic() + 30
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert started.exists(), "the holding invocation never started"
        yield
    finally:
        holder.join()


def test_at_most_n_invocations_run_at_once(local_cloud):
    lam = no_retry_client(local_cloud)
    with function(local_cloud) as name, pool_settings(concurrency=2):
        results = _concurrently([lambda: invoke(lam, name, sleep=1.0)[0] for _ in range(5)])
    intervals = sorted((r["start"], r["end"]) for r in results)
    overlap = max(sum(s <= start < e for s, e in intervals) for start, _ in intervals)
    assert overlap == 2
    assert len({r["pid"] for r in results}) == 2  # queued calls reuse the two environments


def test_queued_invocation_runs_later_with_its_full_timeout(local_cloud):
    lam = no_retry_client(local_cloud)
    with function(local_cloud, Timeout=3) as name, pool_settings(concurrency=1):
        began = time.monotonic()
        results = _concurrently([lambda: invoke(lam, name, sleep=2.0) for _ in range(2)])
        waited = time.monotonic() - began
    assert [error for _, error in results] == [None, None], results
    first, second = sorted((body for body, _ in results), key=lambda body: body["start"])
    assert second["start"] >= first["end"]  # it waited for the only slot...
    assert waited > 3  # ...longer than its timeout, which only runs with the handler


def test_beyond_the_queue_the_invoke_is_throttled_with_429(local_cloud, tmp_path):
    lam = no_retry_client(local_cloud)
    with function(local_cloud) as name, pool_settings(concurrency=1, queue_limit=0):
        with _holding_the_only_slot(local_cloud, name, tmp_path, 2.0):
            with pytest.raises(ClientError) as raised:
                invoke(lam, name)
            error = raised.value.response
            assert error["Error"]["Code"] == "TooManyRequestsException"
            assert error["Error"]["Message"] == "Rate Exceeded."
            assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
            assert error["Reason"] == "ConcurrentInvocationLimitExceeded"
            # an asynchronous invocation is queued, never refused
            queued = lam.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")
            assert queued["StatusCode"] == 202
        body, error = invoke(lam, name)  # the slot is free again
        assert error is None, body


def _task(function_name: str, integration: bool, retry: bool) -> dict[str, Any]:
    task: dict[str, Any] = {"Type": "Task", "End": True}
    if integration:
        task["Resource"] = "arn:aws:states:::lambda:invoke"
        task["Parameters"] = {"FunctionName": function_name, "Payload": {}}
        task["OutputPath"] = "$.Payload"
    else:
        task["Resource"] = f"arn:aws:lambda:{REGION}:123456789012:function:{function_name}"
    if retry:
        task["Retry"] = [
            {
                "ErrorEquals": ["Lambda.TooManyRequestsException"],
                "IntervalSeconds": 1,
                "MaxAttempts": 8,
                "BackoffRate": 1.5,
            }
        ]
    return task


def _run_machine(local_cloud, task: dict[str, Any]) -> tuple[dict, list[dict]]:
    sfn = local_cloud.client("stepfunctions", REGION)
    arn = sfn.create_state_machine(
        name=unique_prefix("throttle"),
        definition=json.dumps({"StartAt": "Call", "States": {"Call": task}}),
        roleArn=lambda_role(local_cloud),
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    desc = wait_for_execution(sfn, execution, timeout=120)
    return desc, sfn.get_execution_history(executionArn=execution)["events"]


def _failures(events: list[dict]) -> list[dict]:
    details = ("lambdaFunctionFailedEventDetails", "taskFailedEventDetails")
    return [e[key] for e in events for key in details if key in e]


@pytest.mark.parametrize("integration", [False, True], ids=["function-arn", "lambda-invoke"])
def test_step_functions_names_the_throttle_and_fails_without_retry(
    local_cloud, tmp_path, integration
):
    with (
        function(local_cloud) as name,
        pool_settings(concurrency=1, queue_limit=0),
        _holding_the_only_slot(local_cloud, name, tmp_path, 4.0),
    ):
        desc, _ = _run_machine(local_cloud, _task(name, integration, retry=False))
    assert desc["status"] == "FAILED"
    assert desc["error"] == "Lambda.TooManyRequestsException"
    assert "Status Code: 429" in desc["cause"]


@pytest.mark.parametrize("integration", [False, True], ids=["function-arn", "lambda-invoke"])
def test_step_functions_retry_recovers_from_throttling(local_cloud, tmp_path, integration):
    with (
        function(local_cloud) as name,
        pool_settings(concurrency=1, queue_limit=0),
        _holding_the_only_slot(local_cloud, name, tmp_path, 3.0),
    ):
        desc, events = _run_machine(local_cloud, _task(name, integration, retry=True))
    assert desc["status"] == "SUCCEEDED", desc
    assert json.loads(desc["output"])["count"] >= 1
    throttles = [f for f in _failures(events) if f["error"] == "Lambda.TooManyRequestsException"]
    assert throttles, "the first attempt should have been throttled"


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("RESLAB_LAMBDA_CONCURRENCY", "lots", "RESLAB_LAMBDA_CONCURRENCY='lots': not a number"),
        ("RESLAB_LAMBDA_CONCURRENCY", "0", "Lambda concurrency must be >= 1 (got 0)"),
        ("RESLAB_LAMBDA_MAX_ENVIRONMENTS", "1", "max_environments (1) must be >= concurrency"),
    ],
)
def test_a_bad_setting_is_refused_by_name(monkeypatch, variable, value, named):
    monkeypatch.setenv("RESLAB_LAMBDA_CONCURRENCY", "2")
    monkeypatch.setenv(variable, value)
    with pytest.raises(LocalCloudError, match=re.escape(named)):
        lambda_exec.configure()


WAITS_FOR_GO = """
import os
import time

import boto3


def handler(event, context):
    open(event["started"], "w").close()
    while not os.path.exists(event["go"]):
        time.sleep(0.01)
    began = time.monotonic()
    boto3.client("sts").get_caller_identity()  # queued behind the lock the test holds
    return {"call_seconds": time.monotonic() - began}
"""


def test_timeout_clock_does_not_count_waits_for_the_local_clouds_lock(local_cloud, tmp_path):
    lam = no_retry_client(local_cloud)
    started, go = tmp_path / "started", tmp_path / "go"

    def hold_the_lock() -> None:
        with serialise.serialised():
            go.touch()
            time.sleep(3)

    with function(local_cloud, WAITS_FOR_GO, Timeout=2) as name:
        holder = threading.Thread(target=hold_the_lock)
        call = threading.Thread(
            target=lambda: results.append(invoke(lam, name, started=str(started), go=str(go)))
        )
        results: list[Any] = []
        call.start()
        deadline = time.monotonic() + 30
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        holder.start()
        holder.join()
        call.join()
    body, error = results[0]
    assert error is None, body
    assert body["call_seconds"] > 2  # longer than the function's timeout, all of it queued
