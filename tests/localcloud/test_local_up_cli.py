"""`reslab local up` in a subprocess: endpoint printed, state file written, boto3 works,
RDS backed by the server given with --db-url, Ctrl-C stops everything."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pymysql

from reslab.dburl import parse_db_url
from reslab.localcloud import discover
from reslab.localcloud.testing import unique_prefix
from tests.localcloud.instances import create_instance

ROOT = Path(__file__).resolve().parents[2]


def _read_until_export(proc: subprocess.Popen[str]) -> list[str]:
    lines = []
    for line in proc.stdout:  # type: ignore[union-attr]
        lines.append(line.rstrip("\n"))
        if line.startswith("export AWS_ENDPOINT_URL="):
            return lines
    raise AssertionError(f"no endpoint printed: {lines} {proc.stderr.read()}")  # type: ignore[union-attr]


def test_local_up_serves_boto3_and_backs_rds_with_db_url(tmp_path, mysql_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "reslab", "local", "up", "--db-url", mysql_url, "--no-iam"],
        cwd=tmp_path,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        lines = _read_until_export(proc)
        assert lines[0] == "IAM enforcement is OFF (debugging only)"
        endpoint = lines[-1].split("=", 1)[1]
        assert endpoint.startswith("http://127.0.0.1:")
        state = json.loads((tmp_path / ".reslab" / "local.json").read_text())
        # the backing as a label, for commands that reuse the cloud (never the URL: passwords)
        assert state == {"endpoint": endpoint, "pid": proc.pid, "backing": "mysql"}
        assert discover(tmp_path) == endpoint

        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-2"
        )
        rds = session.client("rds", endpoint_url=endpoint)
        ident = unique_prefix("cli")
        db = create_instance(rds, ident, "mysql", "admin")
        secret = json.loads(
            session.client("secretsmanager", endpoint_url=endpoint).get_secret_value(
                SecretId=db["MasterUserSecret"]["SecretArn"]
            )["SecretString"]
        )
        admin = parse_db_url(mysql_url)
        # a DNS name, as on AWS; behind it, a database on the --db-url server
        assert db["Endpoint"]["Address"] == f"{ident}.aaaaaaaaaa.us-east-2.rds.amazonaws.com"
        assert db["Endpoint"]["Port"] == 3306
        conn = pymysql.connect(
            host=admin.host,
            port=admin.port,
            user=secret["username"],
            password=secret["password"],
            database=db["DBName"],
        )
        with conn.cursor() as cur:
            cur.execute("SELECT DATABASE()")
            assert cur.fetchone() == (ident.replace("-", "_"),)
        conn.close()
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopping the local cloud" in out
    assert not (tmp_path / ".reslab" / "local.json").exists()
    assert discover(tmp_path) is None
    root = pymysql.connect(
        host=admin.host, port=admin.port, user=admin.user, password=admin.password
    )
    with root.cursor() as cur:
        cur.execute("SHOW DATABASES LIKE %s", (ident.replace("-", "_"),))
        assert cur.fetchall() == ()
    root.close()


def test_discover_ignores_a_stale_state_file(tmp_path):
    state = tmp_path / ".reslab" / "local.json"
    state.parent.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    state.write_text(json.dumps({"endpoint": "http://127.0.0.1:9", "pid": dead.pid}))
    assert discover(tmp_path) is None
    state.write_text("not json")
    assert discover(tmp_path) is None
