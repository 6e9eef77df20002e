"""A real Lambda function attached to a private subnet reaches an AWS API only where AWS would
route it: with no NAT gateway and no VPC endpoint its call hangs until botocore's connect
timeout (``ConnectTimeoutError``, the function's named error), as on AWS; a NAT gateway, or an
interface endpoint whose security group admits it on 443, lets the same call through."""

from __future__ import annotations

import json
from typing import Any

from tests.localcloud.functions import function
from tests.network.topologies import Private

#: One call, one try, a 1 s connect timeout: the function's error comes quickly.
CODE = """
import boto3
from botocore.config import Config

ONE_TRY = Config(connect_timeout=1, read_timeout=5, retries={"total_max_attempts": 1})


def handler(event, context):
    return boto3.client("sts", config=ONE_TRY).get_caller_identity()["Account"]
"""


def _invoke(cloud: Any, name: str) -> tuple[str | None, Any]:
    answer = cloud.client("lambda", "us-east-2").invoke(FunctionName=name, Payload=b"{}")
    return answer.get("FunctionError"), json.loads(answer["Payload"].read())


def test_no_nat_and_no_endpoint_is_a_timeout_a_nat_or_an_endpoint_lets_it_through(
    local_cloud: Any, private: Private
) -> None:
    attached = {"SubnetIds": [private.subnet], "SecurityGroupIds": [private.group]}
    with function(local_cloud, CODE, VpcConfig=attached) as name:
        error, body = _invoke(local_cloud, name)
        assert error == "Unhandled"
        assert body["errorType"] == "ConnectTimeoutError", body
        assert body["errorMessage"].startswith("Connect timeout on endpoint URL")

        # an interface endpoint for STS whose group refuses 443: still no way
        closed = private.vpc.group("endpoint-closed")
        endpoint = private.interface_endpoint("sts", closed)
        assert _invoke(local_cloud, name)[1]["errorType"] == "ConnectTimeoutError"

        # ... once its group admits the function's group on 443, the call goes through
        private.vpc.ec2.authorize_security_group_ingress(
            GroupId=closed,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 443,
                    "ToPort": 443,
                    "UserIdGroupPairs": [{"GroupId": private.group}],
                }
            ],
        )
        error, body = _invoke(local_cloud, name)
        assert (error, body) == (None, "123456789012")

        # without the endpoint, a NAT gateway is the other way out
        private.vpc.ec2.delete_vpc_endpoints(VpcEndpointIds=[endpoint])
        assert _invoke(local_cloud, name)[1]["errorType"] == "ConnectTimeoutError"
        private.add_nat()
        assert _invoke(local_cloud, name) == (None, "123456789012")
