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


def transact_write(guarded: bool = True) -> TransactWrite:
    """A TransactWrite on the service table (all-or-nothing writes; agent-checked in requests).

    ``guarded=False`` for what records something that already happened outside (a message the
    provider accepted): that record must not fail because the agent changed meanwhile."""
    from chalicelib.store.models import shared_connection

    cls = GuardedTransactWrite if guarded else TransactWrite
    return cls(connection=shared_connection())


def failed_conditions(err: TransactWriteError) -> list[bool]:
    """For each item of a cancelled transaction: did its condition fail?"""
    return [bool(r and r.code == "ConditionalCheckFailed") for r in err.cancellation_reasons]


MAX_TRANSACTION_ITEMS = 100
"""DynamoDB's limit of items per TransactWriteItems (each item at most once; 4 MB in all)."""


def operations(tw: TransactWrite) -> list[dict[str, Any]]:
    """The transaction's operations in the order pynamodb sends them (checks, deletes, puts, updates)."""
    return [*tw._condition_check_items, *tw._delete_items, *tw._put_items, *tw._update_items]


def size(tw: TransactWrite) -> int:
    """How many items the transaction writes or checks so far."""
    return len(operations(tw))


def failed_keys(tw: TransactWrite, err: TransactWriteError) -> set[str]:
    """Partition keys of the items whose condition failed in a cancelled transaction."""
    out = set()
    for op, failed in zip(operations(tw), failed_conditions(err), strict=False):
        if failed:
            key = op.get("Key") or op.get("Item") or {}
            out.add(key.get("pk", {}).get("S", ""))
    return out


MAX_CURSOR_CHARS = 4096


def _bad_cursor(message: str) -> ValidationFailed:
    return ValidationFailed([{"field": "cursor", "pointer": "/cursor", "message": f"invalid cursor: {message}"}])


def _key_schema(index: Any) -> dict[str, str]:
    """Attribute name -> DynamoDB type of a LastEvaluatedKey of a query on ``index``: table keys + index keys."""
    model = index._model
    schema = {a.attr_name: a.attr_type for a in (model._hash_key_attribute(), model._range_key_attribute()) if a}
    schema.update({a.attr_name: a.attr_type for a in index.Meta.attributes.values() if a.is_hash_key or a.is_range_key})
    return schema


def encode_cursor(key: dict[str, Any] | None, index: Any) -> str | None:
    """Opaque paging cursor from a DynamoDB LastEvaluatedKey, bound to the index it pages."""
    if not key:
        return None
    doc = {"i": index.Meta.index_name, "k": key}
    return base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str | None, index: Any, hash_value: str | None = None) -> dict[str, Any] | None:
    """LastEvaluatedKey from a cursor, strictly checked: made for this ``index`` (and partition
    ``hash_value``), exactly its key attributes, each of the right type. Anything else is a 400
    naming the parameter: a tampered cursor never reaches DynamoDB."""
    if not cursor:
        return None
    if len(cursor) > MAX_CURSOR_CHARS:
        raise _bad_cursor("too long")
    try:
        doc = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (ValueError, TypeError, RecursionError) as exc:
        raise _bad_cursor(str(exc)) from exc
    if not isinstance(doc, dict) or doc.get("i") != index.Meta.index_name or not isinstance(doc.get("k"), dict):
        raise _bad_cursor("not a cursor of this list")
    key, schema = doc["k"], _key_schema(index)
    if set(key) != set(schema):
        raise _bad_cursor("wrong key attributes")
    for name, kind in schema.items():
        value = key[name]
        if not (isinstance(value, dict) and list(value) == [kind] and isinstance(value[kind], str)
                and 0 < len(value[kind].encode("utf-8", "surrogatepass")) <= 1024):
            raise _bad_cursor(f"bad value of {name}")
        if kind == "N":
            try:
                float(value[kind])
            except ValueError as exc:
                raise _bad_cursor(f"bad number in {name}") from exc
        elif any(0xD800 <= ord(c) <= 0xDFFF for c in value[kind]):
            raise _bad_cursor(f"bad text in {name}")
    hash_name = next(a.attr_name for a in index.Meta.attributes.values() if a.is_hash_key)
    if hash_value is not None and key[hash_name] != {"S": hash_value}:
        raise _bad_cursor("made for another list")
    return key
