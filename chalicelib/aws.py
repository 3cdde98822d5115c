"""One boto3 Session per container for every AWS client the service and its plugins make.

Each ``boto3.session.Session()`` loads the service models and credential chain
again (measured in issue 15: 141 ms for the clients from new Sessions vs 83 ms
from one); botocore client creation is not thread-safe, so clients are made
under one lock and cached by (service, region). pynamodb's DynamoDB
connection uses the same botocore session (``chalicelib.store.models``).
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_session: Any = None
_clients: dict[tuple[str, str], Any] = {}


def session() -> Any:
    """The container's boto3 Session (created on first use)."""
    global _session
    with _lock:
        if _session is None:
            import boto3

            _session = boto3.session.Session()
        return _session


def client(service: str, region: str) -> Any:
    """The cached boto3 client for ``service`` in ``region``, made from the one Session."""
    key = (service, region)
    hit = _clients.get(key)
    if hit is not None:
        return hit
    shared = session()
    with _lock:
        if key not in _clients:
            _clients[key] = shared.client(service, region_name=region)
        return _clients[key]


def reset(service: str | None = None) -> None:
    """Forget cached clients (of one service, or all): the next use makes new ones (tests, endpoints)."""
    with _lock:
        for key in [k for k in _clients if service is None or k[0] == service]:
            del _clients[key]
