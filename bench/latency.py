"""Inject a fixed latency into every DynamoDB request, at the client (a botocore ``before-call`` hook).

Importing this module adds the handler to botocore's built-in handlers, so every
client created afterwards (pynamodb's, boto3's) sleeps ``delay_s`` before making
a DynamoDB request, in the calling thread, as a network round trip would: concurrent
requests wait concurrently. (``before-call`` runs before any ``before-send`` handler,
so it also delays requests that in-process moto answers.) Import it before any client is created. ``injected(0.010)``
turns it on for a block; other services (SES, S3) are never delayed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.handlers

_state = {"delay_s": 0.0, "requests": 0}
_lock = threading.Lock()


def _before_call(event_name: str = "", **_: Any) -> None:
    delay = _state["delay_s"]
    if delay and event_name.startswith("before-call.dynamodb."):
        with _lock:
            _state["requests"] += 1
        time.sleep(delay)
    return None  # None: botocore goes on and makes the request


_HANDLER = ("before-call", _before_call)
if _HANDLER not in botocore.handlers.BUILTIN_HANDLERS:
    botocore.handlers.BUILTIN_HANDLERS.append(_HANDLER)


@contextmanager
def injected(delay_s: float) -> Iterator[dict[str, Any]]:
    """Delay each DynamoDB request by ``delay_s`` inside the block; yields ``{"requests": n delayed}``."""
    seen = {"requests": 0}
    with _lock:
        start, _state["delay_s"] = _state["requests"], delay_s
    try:
        yield seen
    finally:
        with _lock:
            _state["delay_s"] = 0.0
            seen["requests"] = _state["requests"] - start
