"""One gate per (caller, destination), each on a loopback address of its own, kept in step with
the reachability model.

The local cloud's callers run on one machine, so they cannot differ by network address the way
a Lambda function and an EC2 instance do on AWS; instead each caller dials a destination at the
address the switchboard gave IT, and that address's gate forwards or drops as the model decides
for that caller. ``decide`` is called when a line is first dialled and again on
:meth:`Switchboard.reevaluate` (after anything that changes routes, security groups, network
ACLs, endpoints or attachments), so a new network ACL entry freezes open flows at once.
"""

from __future__ import annotations

import errno
import ipaddress
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from reslab.localcloud.network.gate import EventLoop, Gate, NetworkGateError, Upstream
from reslab.localcloud.network.verdict import Decision

#: The addresses gates take (any of 127.0.0.0/8 is local on Linux).
DEFAULT_NETWORK = "127.77.0.0/16"


@dataclass(frozen=True)
class Destination:
    key: str  # stable name, e.g. "db:us-east-2:lab-db", "api:us-east-2:rds"
    port: int  # the port callers dial (a database's endpoint port); 0: any free port
    upstream: Upstream


Decide = Callable[[str, Destination], Decision]


@dataclass
class Line:
    caller: str
    destination: Destination
    gate: Gate
    decision: Decision | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self.gate.address


#: Addresses tried before giving up (each taken one is skipped: other local clouds, other
#: test workers on the machine use the same range).
BIND_ATTEMPTS = 64


def gate_hosts(network: str = DEFAULT_NETWORK) -> Iterator[str]:
    """The network's addresses, endlessly, from a random one on (so that two local clouds on
    one machine rarely try the same address first)."""
    hosts = [h for h in ipaddress.IPv4Network(network).hosts() if h.packed[-1] not in (0, 255)]
    start = secrets.randbelow(len(hosts))
    while True:
        for address in hosts[start:] + hosts[:start]:
            yield str(address)


def open_gate(loop: EventLoop, hosts: Iterator[str], port: int, upstream: Upstream) -> Gate:
    """A gate on the next address of ``hosts`` where ``port`` is free."""
    taken: NetworkGateError | None = None
    for _attempt in range(BIND_ATTEMPTS):
        try:
            return Gate(loop, (next(hosts), port), upstream)
        except NetworkGateError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            taken = exc
    assert taken is not None
    raise taken


class Switchboard:
    def __init__(self, decide: Decide, network: str = DEFAULT_NETWORK) -> None:
        self._decide = decide
        self._hosts = gate_hosts(network)
        self._lines: dict[tuple[str, str], Line] = {}
        self._lock = threading.Lock()
        self._loop = EventLoop()

    def dial(self, caller: str, destination: Destination) -> Line:
        """The line ``caller`` uses for ``destination``, set as the model decides now."""
        key = (caller, destination.key)
        with self._lock:
            line = self._lines.get(key)
            if line is None:
                gate = open_gate(self._loop, self._hosts, destination.port, destination.upstream)
                line = self._lines[key] = Line(caller, destination, gate)
        self._set(line)
        return line

    def reevaluate(self) -> None:
        """Ask the model again for every line (the network changed)."""
        with self._lock:
            lines = list(self._lines.values())
        for line in lines:
            self._set(line)

    def _set(self, line: Line) -> None:
        decision = self._decide(line.caller, line.destination)
        line.gate.apply(decision.new.allowed, decision.established.allowed)
        line.decision = decision

    def hang_up(self, destination_key: str) -> None:
        """Close every line to a destination that is gone (a deleted database)."""
        with self._lock:
            gone = [k for k in self._lines if k[1] == destination_key]
            lines = [self._lines.pop(k) for k in gone]
        for line in lines:
            line.gate.close()

    def close(self) -> None:
        with self._lock:
            lines = list(self._lines.values())
            self._lines.clear()
        for line in lines:
            line.gate.close()
        self._loop.close()
