"""Gap 60: moto 5.2.5's EventBridge delivers to no Lambda target (``Rule.send_to_targets``
raises ``NotImplementedError`` for a function ARN, failing the ``PutEvents`` that matched).

As on AWS, a rule's Lambda target is invoked asynchronously with the event (or the target's
constant ``Input``), only when the function's resource policy lets ``events.amazonaws.com``
invoke it from that rule (``AWS::Lambda::Permission`` with the rule's ARN as ``SourceArn``):
without it AWS drops the invocation, and so do we. A function error is retried twice, as AWS
retries asynchronous invocations; a throttled invocation (the account's concurrency and queue
full, HTTP 429) waits and is tried again with backoff, as Lambda's own queue keeps an event up
to its maximum age (6 hours) rather than dropping it. The invocation goes through the local
cloud's own Lambda API (its runtime, its concurrency limit) from a thread of its own, never
inside the request that put the event.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import threading
import time
from typing import Any

from reslab.localcloud.context import cloud_context

LOGGER = logging.getLogger(__name__)
PRINCIPAL = "events.amazonaws.com"
#: The first try and AWS's two retries of a function error.
ATTEMPTS = 3
#: AWS's default maximum age of an asynchronous event; throttling never drops it earlier.
MAX_EVENT_AGE_SECONDS = 6 * 3600
THROTTLE_BACKOFF_SECONDS = (0.5, 5.0)
_installed = False


def allows(policy: dict[str, Any] | None, rule_arn: str) -> bool:
    """Whether the function policy lets EventBridge invoke it for ``rule_arn``."""
    for statement in (policy or {}).get("Statement", []):
        principal = statement.get("Principal") or {}
        service = principal.get("Service") if isinstance(principal, dict) else principal
        actions = statement.get("Action")
        actions = [actions] if isinstance(actions, str) else actions or []
        if statement.get("Effect") != "Allow" or service != PRINCIPAL:
            continue
        if not {"lambda:InvokeFunction", "lambda:*"} & set(actions):
            continue
        condition = statement.get("Condition") or {}
        source = {**condition.get("ArnLike", {}), **condition.get("ArnEquals", {})}
        wanted = source.get("AWS:SourceArn")
        if wanted is None or fnmatch.fnmatchcase(rule_arn, str(wanted)):
            return True
    return False


def _policy(function_arn: str) -> dict[str, Any] | None:
    from moto.awslambda.models import lambda_backends
    from moto.utilities.arns import parse_arn

    arn = parse_arn(function_arn)
    backend = lambda_backends[arn.account][arn.region]
    try:
        policy = json.loads(backend.get_policy(function_arn, None))  # the API's answer
        return json.loads(policy["Policy"])  # type: ignore[no-any-return]
    except Exception:  # noqa: BLE001 - no policy (ResourceNotFound): nothing allowed
        return None


def _invoke(function_arn: str, payload: bytes) -> None:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError, EndpointConnectionError

    region = function_arn.split(":")[3]
    client = boto3.client(
        "lambda",
        region_name=region,
        endpoint_url=cloud_context.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's fake credentials
        # one try per call (the loop below is the retry policy); a function may run 15 minutes
        config=Config(retries={"total_max_attempts": 1}, read_timeout=960, connect_timeout=5),
    )
    failures, delay = 0, THROTTLE_BACKOFF_SECONDS[0]
    expires = time.monotonic() + MAX_EVENT_AGE_SECONDS
    while failures < ATTEMPTS and time.monotonic() < expires:
        try:
            response = client.invoke(FunctionName=function_arn, Payload=payload)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TooManyRequestsException":
                time.sleep(delay)  # Lambda's queue holds the event: not a failure
                delay = min(delay * 2, THROTTLE_BACKOFF_SECONDS[1])
                continue
            LOGGER.warning("%s: %s", function_arn, exc)
        except EndpointConnectionError:
            return  # the local cloud has stopped: nobody is left to deliver to
        except Exception as exc:  # noqa: BLE001 - retried as AWS retries async invocations
            LOGGER.warning("%s: %s", function_arn, exc)
        else:
            if "FunctionError" not in response:
                return
            LOGGER.warning("%s: %s", function_arn, response["Payload"].read()[:500])
        failures += 1
        time.sleep(failures)


def _payload(target: dict[str, Any], event: dict[str, Any]) -> bytes:
    if target.get("Input"):
        return str(target["Input"]).encode()
    message = dict(event)
    if isinstance(message.get("time"), int | float):
        message["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(message["time"]))
    message.pop("ingestion-time", None)
    return json.dumps(message, default=str).encode()


def deliver(rule: Any, target: dict[str, Any], event: dict[str, Any]) -> None:
    """Invoke the target's function with the event, in the background (when allowed)."""
    if not allows(_policy(target["Arn"]), rule.arn):
        LOGGER.warning("%s may not invoke %s: event dropped", rule.arn, target["Arn"])
        return
    payload = _payload(target, event)
    threading.Thread(target=_invoke, args=(target["Arn"], payload), daemon=True).start()


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.events.models import Rule
    from moto.utilities.arns import parse_arn

    send_to_targets = Rule.send_to_targets

    def send_including_lambda(self: Any, event: Any, transform_input: bool = True) -> None:
        lambdas = [t for t in self.targets if parse_arn(t["Arn"]).service == "lambda"]
        if lambdas and self.event_pattern.matches_event(event):
            for target in lambdas:
                deliver(self, target, event)
        others = [t for t in self.targets if t not in lambdas]
        if not lambdas:
            send_to_targets(self, event, transform_input)
        elif others:
            saved, self.targets = self.targets, others
            try:
                send_to_targets(self, event, transform_input)
            finally:
                self.targets = saved

    Rule.send_to_targets = send_including_lambda
    _installed = True
