"""An instance's role credentials, as EC2 serves them to it (gap 41 of docs/local-cloud.md).

The launch template's instance profile holds one role. EC2 assumes it as ``ec2.amazonaws.com``
(its trust policy must allow that) with the instance id as the session name, and serves the
session at ``iam/security-credentials/<role>`` of the metadata service (:mod:`.imds`), where
botocore and the AWS CLI look when the environment has no keys. The session comes from
:func:`reslab.localcloud.compat.iam_sessions.session_for`, the machinery of the Lambda execution
roles; it is assumed when the instance launches and renewed when a request comes within
``iam_sessions.RENEW_BEFORE`` (5 min) of its expiry, as EC2 makes new credentials available "at
least five minutes before the expiration of the old credentials".

A role EC2 may not assume: both documents answer ``AssumeRoleUnauthorizedAccess`` (botocore then
finds no credentials). No profile, or a profile without a role: nothing is served (404). Either
way the instance's processes have no credentials, as on EC2.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from reslab.localcloud.compat import iam_sessions

EC2_SERVICE = "ec2.amazonaws.com"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _now() -> Any:
    from moto.core.utils import utcnow

    return utcnow()


@dataclass
class RoleCredentials:
    """The credentials EC2 serves one instance (the metadata service's ``CredentialSource``)."""

    profile_arn: str
    profile_id: str
    role_name: str
    role_arn: str
    instance_id: str
    region: str
    _session: Any = None
    _refused: str = ""
    _updated: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _current(self) -> Any:
        """The session, assumed (again) when there is none or it is about to expire."""
        with self._lock:
            session = self._session
            if session is not None and session.expiration - iam_sessions.RENEW_BEFORE > _now():
                return session
            try:
                session = iam_sessions.session_for(
                    EC2_SERVICE, self.role_arn, self.instance_id, self.region
                )
                self._refused = ""
            except iam_sessions.RoleNotAssumable:
                session = None
                self._refused = (
                    f"EC2 cannot assume the role {self.role_name}.  Please see documentation at "
                    "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
                    "id_roles_use_switch-role-ec2.html#troubleshoot_iam-ec2_errors-info-doc."
                )
            self._session, self._updated = session, _now().strftime(_TIME_FORMAT)
            return session

    def _refusal(self) -> str:
        return json.dumps(
            {
                "Code": "AssumeRoleUnauthorizedAccess",
                "Message": self._refused,
                "LastUpdated": self._updated,
            },
            indent=2,
        )

    def info(self) -> str:
        """``iam/info``."""
        if self._current() is None:
            return self._refusal()
        return json.dumps(
            {
                "Code": "Success",
                "LastUpdated": self._updated,
                "InstanceProfileArn": self.profile_arn,
                "InstanceProfileId": self.profile_id,
            },
            indent=2,
        )

    def document(self) -> str:
        """``iam/security-credentials/<role>``."""
        session = self._current()
        if session is None:
            return self._refusal()
        return json.dumps(
            {
                "Code": "Success",
                "LastUpdated": self._updated,
                "Type": "AWS-HMAC",
                "AccessKeyId": session.access_key_id,
                "SecretAccessKey": session.secret_access_key,
                "Token": session.session_token,
                "Expiration": session.expiration.strftime(_TIME_FORMAT),
            },
            indent=2,
        )


def role_credentials(
    profile_arn: str | None, instance_id: str, region: str
) -> RoleCredentials | None:
    """The credentials of an instance launched with ``profile_arn`` (assumed now, as EC2 does at
    launch); None without a profile, or when the profile does not exist or has no role."""
    if not profile_arn:
        return None
    from moto.iam.models import iam_backends
    from moto.utilities.utils import get_partition

    parts = profile_arn.split(":")
    if len(parts) < 6 or parts[2] != "iam":
        return None
    with iam_sessions.locked():
        backend = iam_backends[parts[4]][get_partition(region)]
        profile = next(
            (p for p in backend.instance_profiles.values() if p.arn == profile_arn), None
        )
        if profile is None or not profile.roles:
            return None
        role = profile.roles[0]
        credentials = RoleCredentials(
            profile_arn, profile.id, role.name, role.arn, instance_id, region
        )
    credentials.document()  # EC2 assumes the role when the instance launches
    return credentials
