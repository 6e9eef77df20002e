"""The local cloud under concurrent requests (``reslab.localcloud.serialise``).

moto's handlers iterate and mutate plain dicts with no locking; the race test below fails
(HTTP 500 "dictionary changed size during iteration" inside IAM CreateRole/GetRole) on every run
when the request lock is taken out. Python switches threads every 5 ms by default, about one
moto request, so the test shortens the switch interval to make the interleavings that 20 labs
deploying at once produce show up within seconds.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config

from reslab.dburl import connect
from reslab.localcloud import dbbacking, serialise
from reslab.localcloud.testing import lambda_role, unique_prefix, zip_files

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
)
THREADS = 8
ROLES_PER_THREAD = 10
SEEDED_ROLES = 1000


@pytest.fixture
def fast_thread_switches() -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def _race_role(account: str) -> None:
    """The role the race test's clients act with, straight into moto's backend of the fresh
    account (as the seeded roles): trusting the default account, granted exactly what the test
    calls (IAM enforcement denies a session whose role does not exist, as AWS does)."""
    from moto.iam.models import iam_backends

    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    grants = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["iam:CreateRole", "iam:PutRolePolicy", "iam:ListRolePolicies"],
                "Resource": f"arn:aws:iam::{account}:role/race-*",
            },
            {"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"},
        ],
    }
    backend = iam_backends[account]["aws"]
    backend.create_role("race", json.dumps(trust), "/", None, "", [], None)
    backend.put_role_policy("race", "race-test", json.dumps(grants))


def _account_clients(local_cloud: Any, service: str, count: int) -> tuple[str, list[Any]]:
    """``count`` clients acting in a fresh account (the shared cloud's default one stays small),
    without retries (a retry would hide an HTTP 500), as its role ``race``."""
    account = str(random.randint(10**11, 10**12 - 1))
    _race_role(account)
    creds = local_cloud.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/race", RoleSessionName="race"
    )["Credentials"]
    clients = [
        boto3.client(
            service,
            region_name="us-east-1",
            endpoint_url=local_cloud.endpoint_url,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            config=Config(retries={"total_max_attempts": 1}),
        )
        for _ in range(count)
    ]
    return account, clients


def _seed_roles(account: str, count: int) -> None:
    """Many roles, straight into moto's backend: every CreateRole/GetRole then scans them all,
    as in a cloud that holds many labs' roles."""
    from moto.iam.models import iam_backends

    backend = iam_backends[account]["aws"]
    for n in range(count):
        backend.create_role(f"seed-{n}", TRUST, "/", None, "", [], None)


def _run_together(work: Callable[[int], None], threads: int) -> list[str]:
    errors: list[str] = []
    start = threading.Barrier(threads)

    def one(index: int) -> None:
        start.wait()
        try:
            work(index)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, range(threads)))
    return errors


def test_concurrent_iam_requests_do_not_race(local_cloud, fast_thread_switches):
    account, clients = _account_clients(local_cloud, "iam", THREADS)
    _seed_roles(account, SEEDED_ROLES)

    def work(index: int) -> None:
        iam = clients[index]
        for n in range(ROLES_PER_THREAD):
            name = f"race-{index}-{n}"
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
            iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=POLICY)
            iam.list_roles(MaxItems=5)

    assert _run_together(work, THREADS) == []
    created = {
        role["RoleName"]
        for page in clients[0].get_paginator("list_roles").paginate()
        for role in page["Roles"]
        if role["RoleName"].startswith("race-")
    }
    assert len(created) == THREADS * ROLES_PER_THREAD
    assert clients[0].list_role_policies(RoleName="race-0-0")["PolicyNames"] == ["read"]


CALLBACK_HANDLER = """
import boto3

def handler(event, context):
    return {"roles": len(boto3.client("iam").list_roles()["Roles"])}
"""


def test_lambdas_calling_back_run_concurrently(local_cloud):
    """Each invocation's child process calls the server while its Invoke request is open."""
    name = unique_prefix("serial")
    lam = local_cloud.client("lambda", "us-east-2")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=lambda_role(
            local_cloud,
            "reslab-local-lambda-list-roles",
            [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}],
        ),
        Handler="app.handler",
        Code={"ZipFile": zip_files({"app.py": CALLBACK_HANDLER})},
        Timeout=20,
    )
    try:
        clients = [local_cloud.client("lambda", "us-east-2") for _ in range(4)]
        results: list[Any] = [None] * len(clients)

        def invoke(index: int) -> None:
            resp = clients[index].invoke(FunctionName=name, Payload=b"{}")
            results[index] = (resp.get("FunctionError"), json.loads(resp["Payload"].read()))

        assert _run_together(invoke, len(clients)) == []
        assert all(err is None and "roles" in body for err, body in results), results
    finally:
        lam.delete_function(FunctionName=name)


def test_concurrent_db_instances_each_get_their_own_database(local_cloud):
    """Embedded servers start outside the request lock, one at a time, from one template."""
    prefix = unique_prefix("serialdb")
    clients = [local_cloud.client("rds", "us-east-2") for _ in range(3)]
    idents = [f"{prefix}-{n}" for n in range(len(clients))]

    def create(index: int) -> None:
        clients[index].create_db_instance(
            DBInstanceIdentifier=idents[index],
            Engine="postgres",
            DBInstanceClass="db.t3.micro",
            MasterUsername="dbadmin",
            DBName="labdb",
            AllocatedStorage=20,
        )

    try:
        assert _run_together(create, len(clients)) == []
        targets = [dbbacking.target_for(ident) for ident in idents]
        assert None not in targets
        assert len({t.socket_dir for t in targets}) == len(targets)
        for n, target in enumerate(targets):
            with connect(target) as conn:
                conn.execute("CREATE TABLE t (v int)")
                conn.execute("INSERT INTO t VALUES (%s)", (n,))
        for n, target in enumerate(targets):
            with connect(target) as conn:
                assert conn.execute("SELECT array_agg(v) FROM t").fetchone() == ([n],)
    finally:
        for ident in idents:
            clients[0].delete_db_instance(DBInstanceIdentifier=ident, SkipFinalSnapshot=True)


def test_sqs_long_poll_lets_the_sender_in(local_cloud):
    sqs = local_cloud.client("sqs")
    url = sqs.create_queue(QueueName=unique_prefix("serial"))["QueueUrl"]
    sender = local_cloud.client("sqs")
    try:
        timer = threading.Timer(0.3, lambda: sender.send_message(QueueUrl=url, MessageBody="hi"))
        started = time.monotonic()
        timer.start()
        messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10).get("Messages", [])
        timer.join()
        assert [m["Body"] for m in messages] == ["hi"]
        assert time.monotonic() - started < 5
    finally:
        sqs.delete_queue(QueueUrl=url)


def test_released_lets_another_request_in_and_is_a_no_op_outside():
    with serialise.released():  # not serving a request: nothing to release
        assert not serialise.held()
    entered = threading.Event()

    def other() -> None:
        with serialise.serialised():
            entered.set()

    with serialise.serialised():
        thread = threading.Thread(target=other)
        thread.start()
        assert not entered.wait(0.2)
        with serialise.released():
            assert entered.wait(5)
            thread.join(5)
        assert serialise.held()
    assert not serialise.held()
