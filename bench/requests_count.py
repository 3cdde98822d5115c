"""Count AWS requests at the client with botocore event hooks, for every client in the process.

Importing this module adds a ``before-call`` handler to botocore's built-in
handlers, so every client created afterwards (pynamodb's DynamoDB client,
boto3's S3/SES/SNS clients) reports each API call. ``count_requests()``
collects them while it is open. Import it before any client is created
(``tests/conftest.py`` and the benchmarks do): a client made earlier is not seen.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import botocore.handlers


@dataclass
class Requests:
    """AWS requests seen while counting: DynamoDB by operation, other services by name."""

    ops: Counter[str] = field(default_factory=Counter)
    other: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        """DynamoDB requests."""
        return sum(self.ops.values())

    def of(self, *ops: str) -> int:
        """DynamoDB requests of these operations."""
        return sum(self.ops[o] for o in ops)


_active: list[Requests] = []
_lock = threading.Lock()


def _on_call(model: Any, **_: Any) -> None:
    service = model.service_model.service_name
    with _lock:
        for tally in _active:
            if service == "dynamodb":
                tally.ops[model.name] += 1
            else:
                tally.other[f"{service}.{model.name}"] += 1


_HANDLER = ("before-call", _on_call)
if _HANDLER not in botocore.handlers.BUILTIN_HANDLERS:
    botocore.handlers.BUILTIN_HANDLERS.append(_HANDLER)


@contextmanager
def count_requests() -> Iterator[Requests]:
    """Every AWS request made (from any thread) while the block runs."""
    tally = Requests()
    with _lock:
        _active.append(tally)
    try:
        yield tally
    finally:
        with _lock:
            _active.remove(tally)
