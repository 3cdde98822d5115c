"""Work an API request hands off, to run after the answer (never inside it).

``submit(kind, payload)`` queues one job:

- deployed: an asynchronous invocation (``InvocationType=Event``) of the stack's
  worker function, named by ``HELPDESK_WORKER_FUNCTION`` (the package template
  sets it); Lambda retries a failed job twice, then the event goes to the stack's
  on-failure queue (``helpdesk dlq list``);
- everywhere else (``make run``, ``chalice local``, tests): a background thread in
  this process; ``wait()`` joins the ones still running.

The worker (``kpi_jobs.worker``) and the local thread both call ``handle(event)``,
which runs the job named by ``event["kind"]`` (``JOBS``).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import threading
from typing import Any

from chalicelib.domain import utcnow

log = logging.getLogger(__name__)
JOBS = {"kpi_rebuild": "chalicelib.services.kpis:rebuild_job",
        "deliver_outbox": "chalicelib.services.dispatch:deliver_job"}
"""Job kind -> ``module:function(payload, now) -> dict``."""

_threads: list[threading.Thread] = []
_lock = threading.Lock()


class NoWorker(RuntimeError):
    """Running in Lambda without ``HELPDESK_WORKER_FUNCTION``: a thread would be frozen with the container."""


def handle(event: dict[str, Any]) -> dict[str, Any]:
    """Run the job ``event["kind"]`` with ``event["payload"]``; ValueError for an unknown kind."""
    kind = event.get("kind")
    if kind not in JOBS:
        raise ValueError(f"unknown background job {kind!r}; known: {sorted(JOBS)}")
    module, name = JOBS[kind].split(":")
    return getattr(importlib.import_module(module), name)(event.get("payload") or {}, utcnow())


def _run_logged(event: dict[str, Any]) -> None:
    try:
        log.info("background job %s done: %s", event["kind"], json.dumps(handle(event), default=str)[:500])
    except Exception:
        log.exception("background job %s failed", event["kind"])


def submit(kind: str, payload: dict[str, Any]) -> str:
    """Queue job ``kind``; returns where it runs: ``"lambda"`` (async invocation) or ``"thread"``."""
    if kind not in JOBS:
        raise ValueError(f"unknown background job {kind!r}")
    event = {"kind": kind, "payload": payload}
    function = os.environ.get("HELPDESK_WORKER_FUNCTION")
    if function:
        from chalicelib import aws
        from chalicelib.settings import get_settings

        aws.client("lambda", get_settings().region).invoke(
            FunctionName=function, InvocationType="Event", Payload=json.dumps(event).encode())
        return "lambda"
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        raise NoWorker("HELPDESK_WORKER_FUNCTION is not set: background jobs cannot run in this function")
    thread = threading.Thread(target=_run_logged, args=(event,), name=f"background-{kind}", daemon=True)
    with _lock:
        _threads[:] = [t for t in _threads if t.is_alive()]
        _threads.append(thread)
    thread.start()
    return "thread"


def wait(timeout_s: float = 60.0) -> bool:
    """Join the local background threads (tests, shutdown); True if none is still running."""
    with _lock:
        threads = list(_threads)
    for t in threads:
        t.join(timeout_s)
    return not any(t.is_alive() for t in threads)
