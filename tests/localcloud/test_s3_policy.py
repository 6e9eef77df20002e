"""The lab's TLS-only bucket policy must not lock the local cloud out of its own buckets."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from reslab.localcloud.testing import unique_prefix


def test_tls_only_statement_skipped_but_unconditional_deny_enforced(local_cloud) -> None:
    s3 = local_cloud.client("s3", "us-east-1")
    bucket = unique_prefix("tls").lower()
    s3.create_bucket(Bucket=bucket)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TlsOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "DenyImage",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/image.jpg",
            },
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))

    s3.put_object(Bucket=bucket, Key="report.json", Body=b"{}")
    assert s3.get_object(Bucket=bucket, Key="report.json")["Body"].read() == b"{}"
    s3.put_object(Bucket=bucket, Key="image.jpg", Body=b"jpg")
    with pytest.raises(ClientError) as denied:
        s3.get_object(Bucket=bucket, Key="image.jpg")
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    s3.delete_bucket_policy(Bucket=bucket)
    for key in ("report.json", "image.jpg"):
        s3.delete_object(Bucket=bucket, Key=key)
    s3.delete_bucket(Bucket=bucket)
