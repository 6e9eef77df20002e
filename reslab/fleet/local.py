"""The local cloud a fleet command talks to: a running ``reslab local up`` or one started here."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console


@contextmanager
def local_endpoint(console: Console, db_url: str | None = None) -> Iterator[str]:
    from reslab.localcloud import LocalCloud, discover

    for name in ("moto", "werkzeug"):  # moto logs every failed state with a traceback
        logging.getLogger(name).setLevel(logging.CRITICAL)
    endpoint = discover()
    if endpoint:
        yield endpoint
        return
    with LocalCloud(db_url=db_url) as cloud:
        console.print(f"local cloud at {cloud.endpoint_url} (lives as long as this command)")
        yield cloud.endpoint_url
