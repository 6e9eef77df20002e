"""One hit (one page view) as the ``hits`` table stores it, and how header text becomes one."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime

# Column widths in webapp/schema/*.sql (characters): longer values are cut to fit.
MAX_IP = 255
MAX_USER_AGENT = 1024
MAX_ID = 64
# What a sanitised row keeps: printable ASCII, storable in any column character set.
_NOT_PRINTABLE_ASCII = re.compile(r"[^\x20-\x7e]")


def utcnow() -> datetime:
    """Naive UTC: both schemas store hit_time as a zone-less timestamp in UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_hit_id() -> str:
    """32 hex digits, time-ordered (48-bit milliseconds, then 80 random bits) like a UUIDv7:
    new ids land at the end of the unique index instead of on a random page of it, so an
    insert costs the same in a table of a million rows as in an empty one."""
    return f"{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"


def header_text(value: str) -> str:
    """A WSGI header value (its bytes decoded as latin-1, PEP 3333) as the text the client
    meant: the bytes re-read as UTF-8, invalid sequences replaced by U+FFFD."""
    try:
        return value.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:  # not a WSGI native string: already text
        return value


@dataclass(frozen=True)
class Hit:
    hit_id: str
    client_ip: str
    user_agent: str
    hit_time: datetime
    instance_id: str
    availability_zone: str

    @classmethod
    def now(cls, client_ip: str, user_agent: str, instance_id: str, az: str) -> Hit:
        return cls(
            new_hit_id(),
            client_ip[:MAX_IP],
            user_agent[:MAX_USER_AGENT],
            utcnow(),
            instance_id[:MAX_ID],
            az[:MAX_ID],
        )

    def row(self) -> tuple[str, str, str, datetime, str, str]:
        return (
            self.hit_id,
            self.client_ip,
            self.user_agent,
            self.hit_time,
            self.instance_id,
            self.availability_zone,
        )

    def sanitised(self) -> Hit:
        """The row the database refused, made storable anywhere: every character outside
        printable ASCII (NUL, controls, lone surrogates, anything a narrow character set
        refuses) becomes ``?``, and each value is cut to its column."""
        return replace(
            self,
            client_ip=_printable(self.client_ip, MAX_IP),
            user_agent=_printable(self.user_agent, MAX_USER_AGENT),
            instance_id=_printable(self.instance_id, MAX_ID),
            availability_zone=_printable(self.availability_zone, MAX_ID),
        )


def _printable(value: str, width: int) -> str:
    return _NOT_PRINTABLE_ASCII.sub("?", value)[:width]
