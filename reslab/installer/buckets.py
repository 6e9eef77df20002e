"""The installer's S3 buckets and objects: made tagged with the workshop (so ``reslab sweep``
finds them), and looked up without downloading."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError


def workshop_tags(workshop: str) -> list[dict[str, str]]:
    """The workshop tag in the Key/Value list most AWS APIs take."""
    return [{"Key": "workshop", "Value": workshop}]


def ensure_bucket(s3: Any, bucket: str, region: str, workshop: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
            raise
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**kwargs)
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": workshop_tags(workshop)})


def object_exists(s3: Any, bucket: str, key: str) -> bool:
    """Whether ``s3://bucket/key`` is there (HeadObject: nothing is downloaded)."""
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            raise
        return False
