"""Resolve the local cloud's endpoint names as THIS caller (loaded at interpreter start).

The local cloud puts this directory on a caller's ``PYTHONPATH`` with ``RESLAB_NET_RESOLVER``
(the resolver's URL, an IP literal), ``RESLAB_NET_CALLER`` (the caller's token) and
``RESLAB_NET_SUFFIXES``. ``socket.getaddrinfo`` then asks the resolver for names with those
suffixes (what psycopg, PyMySQL, botocore and the AWS CLI use) and answers with the caller's gate;
other names resolve as usual. Standard library only: it runs in the Lambda child before the
function's own code, and in every Python process of an instance's user data.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

_RESOLVER = os.environ.get("RESLAB_NET_RESOLVER", "")
_CALLER = os.environ.get("RESLAB_NET_CALLER", "")
_SUFFIXES = tuple(s for s in os.environ.get("RESLAB_NET_SUFFIXES", "").split(",") if s)
_reported: set[str] = set()


def _ask(name: str) -> str:
    query = urllib.parse.urlencode({"caller": _CALLER, "name": name})
    try:
        with urllib.request.urlopen(f"{_RESOLVER}?{query}", timeout=30) as reply:  # noqa: S310
            answer = json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from exc
    except OSError as exc:  # the local cloud is gone: a resolver that does not answer
        raise socket.gaierror(socket.EAI_AGAIN, f"no answer from {_RESOLVER}: {exc}") from exc
    note = answer.get("refusal")
    if note and note not in _reported:  # the local cloud says why the connection will hang
        _reported.add(note)
        print(f"[local cloud network] {name} as {_CALLER}: {note}", file=sys.stderr)
    return str(answer["address"])


def _install() -> None:
    original = socket.getaddrinfo

    def getaddrinfo(
        host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if not isinstance(name, str) or not name.lower().rstrip(".").endswith(_SUFFIXES):
            return original(host, port, family, type, proto, flags)
        if family not in (0, socket.AF_INET):
            raise socket.gaierror(socket.EAI_NONAME, "the endpoint has no IPv6 address")
        address = _ask(name.rstrip("."))
        if port is None:
            number = 0
        elif isinstance(port, int) or str(port).isdigit():
            number = int(port)
        else:
            number = socket.getservbyname(str(port), "tcp")
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, number))]

    socket.getaddrinfo = getaddrinfo


if _RESOLVER and _CALLER and _SUFFIXES:
    _install()
