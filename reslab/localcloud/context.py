"""The running local cloud's process-wide context: set by LocalCloud.start(), cleared by stop().

moto's models are process-global, so the compatibility patches cannot carry a LocalCloud
reference; they read :data:`cloud_context` (endpoint, time scale, state dir, stack faults and
the helper services: backing databases, snapshot store, web tier) instead. Not to be confused
with the Lambda ``context`` a function gets (``lambda_runtime``).
"""

from __future__ import annotations

import contextlib
import fnmatch
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class StackFaults:
    """Test hook: stacks whose name matches a pattern roll back on creation."""

    patterns: dict[str, str] = field(default_factory=dict)

    def add(self, pattern: str, reason: str) -> None:
        self.patterns[pattern] = reason

    def clear(self) -> None:
        self.patterns.clear()

    def reason_for(self, stack_name: str) -> str | None:
        for pattern, reason in self.patterns.items():
            if fnmatch.fnmatchcase(stack_name, pattern):
                return reason
        return None


@dataclass
class CloudContext:
    endpoint_url: str = ""
    db_url: str | None = None
    time_scale: float | None = None
    state_dir: Path | None = None
    stack_faults: StackFaults = field(default_factory=StackFaults)
    lock: threading.RLock = field(default_factory=threading.RLock)
    #: name -> object with ``shutdown()`` and ``reset()`` (db backing, web tier) -- see register().
    services: dict[str, Any] = field(default_factory=dict)

    def configure(
        self,
        endpoint_url: str,
        db_url: str | None,
        time_scale: float | None,
        state_dir: Path,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.db_url = db_url
        self.time_scale = time_scale
        self.state_dir = state_dir
        self.stack_faults.clear()

    def service(self, name: str, factory: Any) -> Any:
        """The named helper service, created on first use (``factory()``)."""
        with self.lock:
            if name not in self.services:
                self.services[name] = factory()
            return self.services[name]

    def reset(self) -> None:
        with self.lock:
            for svc in list(self.services.values()):
                svc.reset()
        self.stack_faults.clear()

    def shutdown(self) -> None:
        with self.lock:
            services = list(self.services.values())
            self.services.clear()
        for svc in reversed(services):
            with contextlib.suppress(Exception):  # best effort on the way out
                svc.shutdown()
        self.endpoint_url = ""
        self.time_scale = None
        self.stack_faults.clear()


cloud_context = CloudContext()
