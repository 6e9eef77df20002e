"""What every handler does first: set the log level the event asks for and log the input."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

LOGGER = logging.getLogger("reslab")


def start(name: str, payload: Mapping[str, Any]) -> logging.Logger:
    event = payload.get("event", payload)
    level = event.get("log_level", "INFO") if isinstance(event, Mapping) else "INFO"
    logging.basicConfig(level=logging.INFO)
    LOGGER.setLevel(level if level in logging.getLevelNamesMapping() else "INFO")
    LOGGER.debug("%s input: %s", name, json.dumps(payload, default=str))
    return LOGGER
