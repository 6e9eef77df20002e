"""How reslab code is given AWS: a client factory ``clients(service, region) -> boto3 client``.

The same code runs against AWS (boto3's session, or a fleet target's assumed role) and against
the embedded local cloud (clients pointed at its endpoint); only the factory differs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ClientFactory = Callable[[str, str], Any]
