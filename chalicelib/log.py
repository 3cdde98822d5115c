"""Logging set-up: one line per record, level from ``LOG_LEVEL``."""

from __future__ import annotations

import logging
import os
from typing import Any


def configure_logging(app: Any) -> None:
    """Send the service's loggers through the Chalice app's handler."""
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    app.log.setLevel(level)
    root = logging.getLogger("chalicelib")
    root.setLevel(level)
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        root.addHandler(handler)
