"""EventBridge to Lambda in the local cloud (``compat/events_lambda.py``): a throttled delivery
waits in Lambda's queue, as AWS keeps an asynchronous event up to its maximum age."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from reslab.localcloud.lambda_exec import pool_settings
from tests.localcloud.functions import REGION, function, invoke, no_retry_client


def _wait_until(path: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return True
        time.sleep(0.1)
    return path.exists()


def test_a_throttled_event_is_delivered_once_a_slot_frees(local_cloud: Any, tmp_path: Path) -> None:
    lam = no_retry_client(local_cloud)
    events = local_cloud.client("events", REGION)
    busy_started, delivered = tmp_path / "busy", tmp_path / "delivered"
    with function(local_cloud) as name, pool_settings(concurrency=1, queue_limit=0):
        invoke(lam, name)  # warm: the busy call below starts at once
        arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
        rule = events.put_rule(Name=name, EventPattern=json.dumps({"source": ["reslab.test"]}))
        lam.add_permission(
            FunctionName=name,
            StatementId="events",
            Action="lambda:InvokeFunction",
            Principal="events.amazonaws.com",
            SourceArn=rule["RuleArn"],
        )
        target = {"Id": "fn", "Arn": arn, "Input": json.dumps({"started": str(delivered)})}
        events.put_targets(Rule=name, Targets=[target])

        # the only slot is taken for 16 s, with no queue: every delivery try meanwhile gets 429
        # (longer than three tries with boto's own retries took to give up, before the fix)
        busy = threading.Thread(
            target=invoke, args=(lam, name), kwargs={"sleep": 16, "started": str(busy_started)}
        )
        busy.start()
        assert _wait_until(busy_started, 10)
        events.put_events(Entries=[{"Source": "reslab.test", "DetailType": "t", "Detail": "{}"}])
        time.sleep(1)
        assert not delivered.exists()  # throttled, not run
        busy.join()
        assert _wait_until(delivered, 30), "the event was dropped after throttling"
        events.remove_targets(Rule=name, Ids=["fn"])
        events.delete_rule(Name=name)
