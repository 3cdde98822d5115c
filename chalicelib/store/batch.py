"""Items of different kinds read together: one consistent BatchGetItem for many keys of the table.

pynamodb's ``Model.batch_get`` reads one model class; ingest needs the dedupe record, the
sender's identity, threading references, the customer and ticket headers, so it reads raw
items here and builds each model from its own item (``Model.from_raw_data``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from chalicelib.settings import get_settings

MAX_KEYS = 100
"""DynamoDB's limit of keys per BatchGetItem request."""
MAX_ROUNDS = 8
"""Requests for the keys DynamoDB left unprocessed (throttling) before giving up."""

Key = tuple[str, str]


def get_raw(keys: Iterable[Key]) -> dict[Key, dict[str, Any]]:
    """The stored items at ``keys`` (consistent reads), as DynamoDB returned them; absent keys left out.

    One request per 100 distinct keys; keys DynamoDB leaves unprocessed are asked again
    with a short backoff.
    """
    from chalicelib.store.models import shared_connection

    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    table = get_settings().table_name
    client = shared_connection().client
    found: dict[Key, dict[str, Any]] = {}
    for start in range(0, len(wanted), MAX_KEYS):
        chunk = wanted[start:start + MAX_KEYS]
        pending: list[dict[str, Any]] = [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in chunk]
        for attempt in range(MAX_ROUNDS):
            if attempt:
                time.sleep(min(0.05 * 2 ** attempt, 1.0))
            resp = client.batch_get_item(RequestItems={table: {"Keys": pending, "ConsistentRead": True}})
            for item in resp.get("Responses", {}).get(table, []):
                found[(item["pk"]["S"], item["sk"]["S"])] = item
            pending = resp.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
            if not pending:
                break
        else:
            raise RuntimeError(f"BatchGetItem left {len(pending)} keys unprocessed after {MAX_ROUNDS} requests")
    return found


def model_of(cls: Any, raw: dict[str, Any] | None) -> Any:
    """``cls`` built from a raw item, or None."""
    return None if raw is None else cls.from_raw_data(raw)
