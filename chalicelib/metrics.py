"""CloudWatch metrics in the Embedded Metric Format (Powertools for AWS Lambda), namespace ``Helpdesk``.

Code records with ``count(name, ...)``/``record(name, value, unit, ...)``; values are buffered
per dimension set and written as EMF JSON lines by ``flush()``, which the middleware
(``chalicelib.instrument``) calls at the end of every invocation: CloudWatch Logs turns each
line into metrics, no API call is made. Every blob carries the ``service`` dimension; a
``channel`` dimension is added where given. ``POWERTOOLS_METRICS_NAMESPACE`` overrides the
namespace; ``POWERTOOLS_METRICS_DISABLED=true`` drops them. Powertools is imported only when
something is flushed.

Metric names (the alarms in the package template refer to them):

- ``TicketsCreated`` (channel), ``WebhookClientErrors`` / ``WebhookServerErrors`` (channel)
- ``SlaBreaches``, ``AutomationsFired`` (warnings and other timed rules), ``SweepRuns`` (the
  heartbeat), ``SweepFailures``, ``SweepLag`` and ``SweepDuration`` (milliseconds)
- ``NotificationsSent``, ``NotificationsFailed`` (given up: the outbox item is ``failed``), ``NotificationsRetried``
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import Any

NAMESPACE = "Helpdesk"
COUNT, MILLISECONDS = "Count", "Milliseconds"
MAX_BUFFERED = 5000  # a process that never flushes (the CLI) keeps at most this many values

_lock = threading.Lock()
_buffer: dict[tuple[tuple[str, str], ...], list[tuple[str, str, float]]] = {}
_size = 0


def record(name: str, value: float, unit: str = COUNT, **dimensions: str) -> None:
    """Buffer one value of metric ``name`` with these dimensions (besides ``service``)."""
    global _size
    key = tuple(sorted((k, str(v)) for k, v in dimensions.items()))
    with _lock:
        if _size >= MAX_BUFFERED:
            return
        _buffer.setdefault(key, []).append((name, unit, float(value)))
        _size += 1


def count(name: str, value: int = 1, **dimensions: str) -> None:
    """Buffer a count."""
    if value:
        record(name, value, COUNT, **dimensions)


def _take() -> dict[tuple[tuple[str, str], ...], list[tuple[str, str, float]]]:
    global _buffer, _size
    with _lock:
        taken, _buffer, _size = _buffer, {}, 0
    return taken


def blobs() -> list[dict[str, Any]]:
    """Empty the buffer into EMF documents, one per dimension set (at most 100 metrics each)."""
    taken = _take()
    if not taken or os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() == "true":
        return []
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or NAMESPACE
    service = os.environ.get("POWERTOOLS_SERVICE_NAME") or "helpdesk"
    out = []
    for dims, values in taken.items():
        names = sorted({n for n, _, _ in values})
        for start in range(0, len(names), 100):
            chunk = set(names[start:start + 100])
            provider = AmazonCloudWatchEMFProvider(namespace=namespace, service=service)
            for key, val in dims:
                provider.add_dimension(key, val)
            for name, unit, value in values:
                if name in chunk:
                    provider.add_metric(name=name, unit=unit, value=value)
            out.append(provider.serialize_metric_set())
    return out


def flush(write: Callable[[str], Any] | None = None) -> int:
    """Write the buffered metrics as EMF lines; returns how many. In Lambda to stdout (CloudWatch Logs
    makes metrics of them), elsewhere (tests, ``make run``, the CLI) to stderr, away from command output."""
    import json

    docs = blobs()
    stream = sys.stdout if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") else sys.stderr
    emit = write or (lambda line: print(line, file=stream, flush=True))
    for doc in docs:
        emit(json.dumps(doc, separators=(",", ":")))
    return len(docs)
