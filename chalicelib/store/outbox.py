"""The notification outbox: items written with the firing, then leased, sent, retried or failed.

Every change of an item is conditional on its version (optimistic locking),
so two dispatchers never both claim the same attempt. The ``OutboxByState``
index answers "what is due" (``pending``/``sending`` with ``state_at <= now``)
and the listings by state, without a scan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.errors import Conflict, NotFound, ValidationFailed
from chalicelib.store import keys
from chalicelib.store.models import OutboxItem
from chalicelib.store.tx import decode_cursor, encode_cursor

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
STATES = (PENDING, SENDING, SENT, FAILED)
DUE_STATES = (PENDING, SENDING)
SENT_RETENTION = timedelta(days=90)
ATTEMPT_LOG_SIZE = 10
EFFECT_KEY = "outbox_item"
"""Key under which a planned ``notify`` effect carries its ``OutboxItem`` to the commit."""


def epoch(t: datetime) -> int:
    """Whole seconds since the epoch (the index's ``state_at``)."""
    return int(t.astimezone(timezone.utc).timestamp())


def new_item(*, dedupe_key: str, ticket_id: int | None, rule_id: str | None, target: str, to: Any,
             recipient: str | None, subject: str, body: str, lang: str, data: Mapping[str, Any],
             now: datetime, error: str | None = None) -> OutboxItem:
    """A new outbox item, due at ``now``; already ``failed`` when ``error`` says it cannot be sent."""
    oid = keys.outbox_id(dedupe_key)
    item = OutboxItem(keys.outbox_pk(oid), keys.OUTBOX_SK, outbox_id=oid, dedupe_key=dedupe_key,
                      ticket_id=ticket_id, rule_id=rule_id, target=target, to=to, recipient=recipient,
                      subject=subject, body=body, lang=lang, data=dict(data), outbox_state=PENDING,
                      state_at=epoch(now), attempts=0, created_at=now, updated_at=now)
    if error:
        item.outbox_state, item.last_error = FAILED, error
    return item


def attached(effects: Iterable[Mapping[str, Any]]) -> list[OutboxItem]:
    """The outbox items planned effects carry (see ``EFFECT_KEY``)."""
    return [e[EFFECT_KEY] for e in effects if isinstance(e.get(EFFECT_KEY), OutboxItem)]


def fresh(items: Iterable[OutboxItem]) -> list[OutboxItem]:
    """The items whose dedupe key has no outbox item yet (one consistent batch read).

    A firing repeated with the same dedupe key writes nothing the second time;
    the conditional put in ``save_new`` covers a race between this read and the write.
    """
    items = list(items)
    if not items:
        return []
    found = OutboxItem.batch_get([(i.pk, i.sk) for i in items], consistent_read=True)
    existing = {i.pk for i in found}
    unique: dict[str, OutboxItem] = {}
    for item in items:
        if item.pk not in existing:
            unique.setdefault(item.pk, item)
    return list(unique.values())


def lease_new(items: Iterable[OutboxItem], now: datetime, lease_s: int) -> None:
    """Before the commit that writes them: new ``pending`` items are written already leased to this
    process for their first attempt (``sending`` until ``now + lease_s``), so the fast path after
    the commit sends them without reading or claiming them first. Should the process die, the
    lease ends and the dispatch schedule attempts them: never lost."""
    for item in items:
        if item.outbox_state == PENDING:
            item.outbox_state, item.state_at, item.attempts = SENDING, epoch(now) + lease_s, 1


def written(items: Iterable[OutboxItem]) -> None:
    """After the commit: the items it wrote leased are held by this process (see ``held``)."""
    for item in items:
        item.lease_held = item.outbox_state == SENDING


def held(item: OutboxItem) -> bool:
    """Did this process write the item leased to itself (``lease_new`` + a successful commit)?"""
    return bool(getattr(item, "lease_held", False))


def unique(items: Iterable[OutboxItem]) -> list[OutboxItem]:
    """One item per key (a transaction may hold an item once), without reading: for changes whose
    firings are keyed by an event id made in this request (ingest), no earlier item can exist, and
    ``save_new``'s condition covers the impossible case."""
    out: dict[str, OutboxItem] = {}
    for item in items:
        out.setdefault(item.pk, item)
    return list(out.values())


def save_new(tw: TransactWrite, items: Iterable[OutboxItem]) -> None:
    """Add puts to a transaction that fail (cancelling it) if an item with the same key exists."""
    for item in items:
        tw.save(item, condition=OutboxItem.pk.does_not_exist())


def put_new(item: OutboxItem) -> bool:
    """Write one item outside a transaction; False when its dedupe key is already in the outbox."""
    try:
        item.save(condition=OutboxItem.pk.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def get(outbox_id: str) -> OutboxItem:
    """The item (consistent read), or NotFound."""
    try:
        return OutboxItem.get(keys.outbox_pk(outbox_id), keys.OUTBOX_SK, consistent_read=True)
    except OutboxItem.DoesNotExist as exc:
        raise NotFound(f"outbox item {outbox_id} not found") from exc


def is_due(item: OutboxItem, now: datetime) -> bool:
    """Pending and its time has come, or sending with an expired lease (a dispatcher died)."""
    return item.outbox_state in DUE_STATES and int(item.state_at) <= epoch(now)


def due_ids(now: datetime, limit: int) -> list[str]:
    """Ids of items due at ``now``, earliest first, from the index (the index may lag a little:
    callers re-read each item before acting)."""
    ids: list[str] = []
    for state in DUE_STATES:
        query = OutboxItem.by_state.query(state, OutboxItem.state_at <= epoch(now), limit=limit - len(ids))
        ids += [i.outbox_id for i in query]
        if len(ids) >= limit:
            break
    return ids


def _update(item: OutboxItem, actions: list[Any]) -> bool:
    """Apply actions if nobody changed the item since it was read; False otherwise."""
    try:
        item.update(actions=actions)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def claim(item: OutboxItem, now: datetime, lease_s: int) -> bool:
    """Lease a due item for one attempt (``sending`` until ``now + lease_s``). False if another
    dispatcher got there first."""
    return _update(item, [OutboxItem.outbox_state.set(SENDING), OutboxItem.state_at.set(epoch(now) + lease_s),
                          OutboxItem.attempts.set(int(item.attempts or 0) + 1), OutboxItem.updated_at.set(now)])


def _log(item: OutboxItem, now: datetime, outcome: str) -> list[dict[str, Any]]:
    entry = {"attempt": int(item.attempts or 0), "at": now.astimezone(timezone.utc).isoformat(), "outcome": outcome}
    return [*(item.attempt_log or []), entry][-ATTEMPT_LOG_SIZE:]


def sent_actions(item: OutboxItem, now: datetime, detail: str) -> list[Any]:
    """The update that makes an item ``sent`` (for a transaction that records the send with it)."""
    return [OutboxItem.outbox_state.set(SENT), OutboxItem.state_at.set(epoch(now)), OutboxItem.detail.set(detail),
            OutboxItem.sent_at.set(now), OutboxItem.updated_at.set(now),
            OutboxItem.attempt_log.set(_log(item, now, "sent")), OutboxItem.expires_at.set(now + SENT_RETENTION)]


def _update_with_event(item: OutboxItem, actions: list[Any], event: Any) -> bool:
    """``_update`` and, in the same transaction, the timeline event telling it (one request)."""
    if event is None:
        return _update(item, actions)
    from chalicelib.store.tx import failed_conditions, transact_write

    try:
        with transact_write(guarded=False) as tw:  # records a delivery that already happened
            tw.update(item, actions=actions)
            tw.save(event)
    except TransactWriteError as err:
        if any(failed_conditions(err)):
            return False
        raise
    return True


def mark_sent(item: OutboxItem, now: datetime, detail: str, event: Any = None) -> bool:
    """The attempt succeeded: ``sent`` (kept ``SENT_RETENTION``, then expired by TTL); ``event``
    (the ``notification_sent`` timeline item) is written with it."""
    return _update_with_event(item, sent_actions(item, now, detail), event)


def mark_retry(item: OutboxItem, now: datetime, retry_at: datetime, error: str) -> bool:
    """The attempt failed and another is allowed: ``pending`` again, due at ``retry_at``."""
    return _update(item, [OutboxItem.outbox_state.set(PENDING), OutboxItem.state_at.set(epoch(retry_at)),
                          OutboxItem.last_error.set(error), OutboxItem.updated_at.set(now),
                          OutboxItem.attempt_log.set(_log(item, now, error))])


def mark_failed(item: OutboxItem, now: datetime, error: str, event: Any = None) -> bool:
    """No more attempts: ``failed``, kept (no TTL) until redriven; ``event`` written with it."""
    return _update_with_event(item, [
        OutboxItem.outbox_state.set(FAILED), OutboxItem.state_at.set(epoch(now)), OutboxItem.last_error.set(error),
        OutboxItem.updated_at.set(now), OutboxItem.attempt_log.set(_log(item, now, error))], event)


def redrive(item: OutboxItem, now: datetime) -> None:
    """A ``failed`` item back to ``pending``, due now, with a fresh attempt budget; Conflict otherwise."""
    if item.outbox_state != FAILED:
        raise Conflict(f"outbox item {item.outbox_id} is {item.outbox_state}, not failed",
                       {"outbox_id": item.outbox_id, "state": item.outbox_state})
    if not _update(item, [OutboxItem.outbox_state.set(PENDING), OutboxItem.state_at.set(epoch(now)),
                          OutboxItem.attempts.set(0), OutboxItem.updated_at.set(now)]):
        raise Conflict(f"outbox item {item.outbox_id} changed meanwhile; try again", {"outbox_id": item.outbox_id})


def list_state(state: str, *, limit: int = 25, cursor: str | None = None
               ) -> tuple[list[OutboxItem], str | None]:
    """One page of items in ``state``, most recent ``state_at`` first, and the next cursor."""
    if state not in STATES:
        raise ValidationFailed([{"field": "state", "pointer": "/state",
                                 "message": f"unknown state {state!r}; one of {list(STATES)}"}])
    result = OutboxItem.by_state.query(state, limit=limit, scan_index_forward=False,
                                       last_evaluated_key=decode_cursor(cursor, OutboxItem.by_state, state))
    items = list(result)
    return items, encode_cursor(result.last_evaluated_key, OutboxItem.by_state)


def _iso(t: datetime | None) -> str | None:
    return t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if t else None


def to_dict(item: OutboxItem) -> dict[str, Any]:
    """JSON-ready item, with the rendered subject and body (what was or will be sent)."""
    state_at = datetime.fromtimestamp(int(item.state_at), timezone.utc)
    return {
        "id": item.outbox_id, "state": item.outbox_state, "target": item.target, "recipient": item.recipient,
        "to": item.to, "ticket_id": int(item.ticket_id) if item.ticket_id is not None else None,
        "rule_id": item.rule_id, "dedupe_key": item.dedupe_key, "lang": item.lang,
        "subject": item.subject, "body": item.body, "attempts": int(item.attempts or 0),
        "next_attempt_at": _iso(state_at) if item.outbox_state == PENDING else None,
        "lease_until": _iso(state_at) if item.outbox_state == SENDING else None,
        "last_error": item.last_error, "detail": item.detail, "attempt_log": item.attempt_log or [],
        "created_at": _iso(item.created_at), "updated_at": _iso(item.updated_at), "sent_at": _iso(item.sent_at),
    }
