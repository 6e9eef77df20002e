"""The code of the functions a lab stack creates (``reslab.functions.STACK_FUNCTIONS``), put
where that stack lives.

Lambda reads a function's code only from a bucket in the function's own region, and the dms
stack lives in the secondary region, not in the installer's. So ``reslab install`` with a
``dms: true`` event keeps one code bucket per lab in the secondary region and hands the
installer stack its name, the zip's key and the region (``DmsCode*`` parameters); the deploy
passes bucket and key to the dms stack (``install_parameters`` of the stack table) and the
validate step refuses a ``dms: true`` event for another region.

The bucket is named after the lab's bucket prefix (the CloudFormation role may read objects
only in ``<LabBucketPrefix>*`` buckets), made unique per account and region by a short digest,
and tagged with the workshop, so ``reslab sweep`` removes it with the rest of the lab.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from reslab import packaging
from reslab.errors import InvalidEvent
from reslab.installer.buckets import ensure_bucket, object_exists

#: The installer stack's parameters for the dms stack's code (empty: no DMS mode).
NO_DMS_CODE = {"DmsCodeBucket": "", "DmsCodeKey": "", "DmsCodeRegion": ""}
_MAX_BUCKET_NAME = 63


def code_bucket_name(stack_prefix: str, account: str, region: str) -> str:
    """``<stack prefix in lower case>-<7 hex digits>-<region>``."""
    lower = stack_prefix.lower()
    digest = hashlib.sha256(f"{account}/{lower}/{region}".encode()).hexdigest()[:7]
    name = f"{lower}-{digest}-{region}"
    if len(name) > _MAX_BUCKET_NAME:
        raise InvalidEvent(
            f"stack_prefix: {stack_prefix!r} is too long for the DMS code bucket in {region} "
            f"({name!r} has {len(name)} characters, S3 allows {_MAX_BUCKET_NAME}): shorten it"
        )
    return name


def upload_dms_code(
    clients: Callable[[str, str], Any],
    event: Mapping[str, Any],
    local: bool,
) -> dict[str, str]:
    """Put the dms stack's function code in the event's secondary region (when the event has
    ``dms: true``); returns the installer stack's ``DmsCode*`` parameters."""
    if event.get("dms") is not True:
        return dict(NO_DMS_CODE)
    region = str(event["secondary_region_name"])
    account = clients("sts", event["region_name"]).get_caller_identity()["Account"]
    bucket = code_bucket_name(str(event["stack_prefix"]), str(account), region)
    s3 = clients("s3", region)
    ensure_bucket(s3, bucket, region, str(event["workshop"]))
    files = packaging.stack_code("dms", local=local)
    prefix = f"reslab/{packaging.artifact_version(files)}/"
    for name, body in sorted(files.items()):
        if not object_exists(s3, bucket, prefix + name):
            s3.put_object(Bucket=bucket, Key=prefix + name, Body=body)
    [name] = files  # the dms stack creates one function (its PreparationCodeKey)
    return {"DmsCodeBucket": bucket, "DmsCodeKey": prefix + name, "DmsCodeRegion": region}
