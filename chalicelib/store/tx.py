"""Transactions and paging helpers shared by the repositories."""

from __future__ import annotations

import base64
import json
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.errors import ValidationFailed


def transact_write() -> TransactWrite:
    """A TransactWrite on the service table (all-or-nothing writes)."""
    from chalicelib.store.models import shared_connection

    return TransactWrite(connection=shared_connection())


def failed_conditions(err: TransactWriteError) -> list[bool]:
    """For each item of a cancelled transaction: did its condition fail?"""
    return [bool(r and r.code == "ConditionalCheckFailed") for r in err.cancellation_reasons]


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    """Opaque paging cursor from a DynamoDB LastEvaluatedKey."""
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """LastEvaluatedKey from a cursor; a malformed cursor is a 400 naming the parameter."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(key, dict):
            raise ValueError("not an object")
        return key
    except (ValueError, TypeError) as exc:
        raise ValidationFailed(
            [{"field": "cursor", "pointer": "/cursor", "message": f"invalid cursor: {exc}"}]
        ) from exc
