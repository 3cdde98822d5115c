"""Transactions and paging helpers shared by the repositories."""

from __future__ import annotations

import base64
import json
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.errors import ValidationFailed


class GuardedTransactWrite(TransactWrite):
    """A TransactWrite that, inside an authenticated request, also checks the agent is unchanged.

    The check (``store.auth``) is the transaction's first item; callers never see it: if it
    fails, ``AgentChanged`` is raised, otherwise its entry is removed from the cancellation
    reasons so they line up with the items the caller added.
    """

    def _commit(self) -> Any:
        from chalicelib.store import auth, keys
        from chalicelib.store.models import AgentItem

        guard = auth.current_guard()
        if guard is None:
            return super()._commit()
        self._condition_check_items.insert(0, AgentItem.get_operation_kwargs_from_class(
            keys.agent_pk(guard.agent_id), "AGENT",
            condition=auth.unchanged_condition(AgentItem, guard.version)))
        try:
            return super()._commit()
        except TransactWriteError as err:
            reasons = err.cancellation_reasons
            if reasons and reasons[0] is not None and reasons[0].code == "ConditionalCheckFailed":
                auth.forget(guard.agent_id)
                raise auth.AgentChanged("this agent was disabled or changed; authenticate again") from err
            if reasons:
                err.cause.cancellation_reasons = reasons[1:]
            raise
        finally:
            del self._condition_check_items[0]


def transact_write() -> TransactWrite:
    """A TransactWrite on the service table (all-or-nothing writes; agent-checked in requests)."""
    from chalicelib.store.models import shared_connection

    return GuardedTransactWrite(connection=shared_connection())


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
