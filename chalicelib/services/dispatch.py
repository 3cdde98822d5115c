"""Deliver outbox items through the notifier plugins: at least once, retried with backoff, never lost.

One attempt: re-read the item, lease it (``sending``, conditional on its
version, so concurrent dispatchers never both attempt it), call
``helpdesk_notify``, then record the outcome:

- delivered: ``sent``, and ``notification_sent`` on the ticket's timeline;
- an exception (transient): ``pending`` again, due after the backoff
  (``chalicelib.backoff``), or ``failed`` when the attempts are used up;
- ``delivered=False`` or no plugin for the target (permanent): ``failed``.

``failed`` puts ``notification_failed`` (with the error) on the timeline and
lists the item under ``GET /outbox?state=failed`` until it is redriven. A
crash after the lease leaves the item ``sending``; when the lease ends it is
due again, so a crash between "written" and "sent" means a retry, never a
loss (and, rarely, a second delivery: receivers dedupe on the outbox id).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib import metrics
from chalicelib.backoff import RetryPolicy, next_attempt_at, retry_policy
from chalicelib.domain import Notification
from chalicelib.log import correlate
from chalicelib.plugin_manager import get_plugin_manager
from chalicelib.secrets import get_secret
from chalicelib.services import auto_replies
from chalicelib.store import outbox as store_outbox
from chalicelib.store.changes import append_events, event_items
from chalicelib.store.models import OutboxItem

log = logging.getLogger(__name__)
ACTOR = "system:outbox"
BATCH = 100


@dataclass(frozen=True)
class Attempt:
    """What one call to the notifier plugins came to."""

    delivered: bool
    detail: str = ""
    permanent: bool = False


@dataclass
class DispatchReport:
    """Outcome of one dispatch run, by outbox id."""

    sent: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def notification_of(item: OutboxItem) -> Notification:
    """The ``Notification`` handed to plugins for an outbox item (its id and attempt in ``metadata``)."""
    meta: dict[str, Any] = {**(item.data or {}), "outbox_id": item.outbox_id, "attempt": int(item.attempts or 0),
                            "lang": item.lang, "rule_id": item.rule_id}
    return Notification(target=item.target, recipient=item.recipient or "", subject=item.subject,
                        body_text=item.body, dedupe_key=item.dedupe_key,
                        ticket_id=int(item.ticket_id) if item.ticket_id is not None else None, metadata=meta)


def attempt(item: OutboxItem) -> Attempt:
    """Call ``helpdesk_notify`` once; exceptions become a transient failure with the error text."""
    try:
        result = get_plugin_manager().hook.helpdesk_notify(notification=notification_of(item), get_secret=get_secret)
    except Exception as exc:  # noqa: BLE001 - any plugin error is a failed attempt, recorded
        log.warning("outbox %s (%s) attempt %s failed: %s", item.outbox_id, item.target, item.attempts, exc)
        return Attempt(False, f"{type(exc).__name__}: {exc}"[:1000])
    if result is None:
        return Attempt(False, f"no plugin delivers to target {item.target!r}", permanent=True)
    return Attempt(result.delivered, result.detail or ("delivered" if result.delivered else "rejected"),
                   permanent=not result.delivered)


def _event(item: OutboxItem, kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "data": {"outbox_id": item.outbox_id, "rule_id": item.rule_id, "target": item.target,
                                   "to": item.to, "recipient": item.recipient, "subject": item.subject,
                                   "attempts": int(item.attempts or 0), **extra}}


def _timeline(item: OutboxItem, event: dict[str, Any], now: datetime, actor: str = ACTOR) -> None:
    if item.ticket_id is not None:
        append_events(int(item.ticket_id), [event], now, actor)


def _timeline_item(item: OutboxItem, event: dict[str, Any], now: datetime) -> Any:
    """The timeline item of an outcome, written in the outbox item's own update (None: no ticket)."""
    return event_items(int(item.ticket_id), [event], now, ACTOR)[0] if item.ticket_id is not None else None


def _record(item: OutboxItem, outcome: Attempt, now: datetime, policy: RetryPolicy) -> str:
    """Store the outcome of the attempt just made (the item and its timeline event: one request);
    returns the new state."""
    if outcome.delivered:
        metrics.count("NotificationsSent")
        store_outbox.mark_sent(item, now, outcome.detail,
                               _timeline_item(item, _event(item, "notification_sent", detail=outcome.detail), now))
        return store_outbox.SENT
    retry_at = None if outcome.permanent else next_attempt_at(now, int(item.attempts), policy)
    if retry_at is not None:
        metrics.count("NotificationsRetried")
        store_outbox.mark_retry(item, now, retry_at, outcome.detail)
        return store_outbox.PENDING
    failed_event = _timeline_item(item, _event(item, "notification_failed", error=outcome.detail), now)
    if store_outbox.mark_failed(item, now, outcome.detail, failed_event):
        metrics.count("NotificationsFailed")
        log.error("outbox %s (%s) failed for good after %s attempts: %s", item.outbox_id, item.target,
                  item.attempts, outcome.detail)
    return store_outbox.FAILED


def deliver(outbox_id: str, now: datetime, policy: RetryPolicy | None = None) -> str | None:
    """Make one attempt at an item if it is due at ``now``; returns its new state, or None when it
    was not due or another dispatcher holds it."""
    policy = policy or retry_policy()
    with correlate(outbox_id=outbox_id):
        item = store_outbox.get(outbox_id)
        if not store_outbox.is_due(item, now) or not store_outbox.claim(item, now, policy.lease_s):
            return None
        with correlate(ticket_id=int(item.ticket_id) if item.ticket_id is not None else None):
            if auto_replies.is_auto_reply(item):  # to the customer, through the ticket's channel
                return auto_replies.deliver_claimed(item, now, policy)
            return _record(item, attempt(item), now, policy)


def dispatch_due(now: datetime, limit: int = BATCH) -> DispatchReport:
    """Attempt every item due at ``now`` (from the index, never a scan). One item's error is
    logged and leaves it due for the next run."""
    policy = retry_policy()
    report = DispatchReport()
    for oid in store_outbox.due_ids(now, limit):
        try:
            state = deliver(oid, now, policy)
        except Exception:
            log.exception("dispatch of outbox item %s failed", oid)
            state = None
        {store_outbox.SENT: report.sent, store_outbox.PENDING: report.retrying,
         store_outbox.FAILED: report.failed}.get(state or "", report.skipped).append(oid)
    if report.sent or report.retrying or report.failed:
        log.info("dispatch at %s: %d sent, %d retrying, %d failed", now.isoformat(), len(report.sent),
                 len(report.retrying), len(report.failed))
    return report


def deliver_now(outbox_ids: Iterable[str], now: datetime) -> None:
    """The fast path right after a commit: one attempt each, errors only logged (the dispatch
    schedule picks up whatever this leaves). Off with ``NOTIFY_FAST_PATH=0``."""
    policy = retry_policy()
    if not policy.fast_path:
        return
    for oid in outbox_ids:
        try:
            deliver(oid, now, policy)
        except Exception:
            log.exception("fast-path delivery of outbox item %s failed; the schedule retries it", oid)


def deliver_held(items: Iterable[OutboxItem], now: datetime) -> None:
    """The fast path for items the commit just wrote leased to this process (``store.outbox.lease_new``):
    attempt and record, with no read and no claim first. Errors are only logged: when the lease
    ends the dispatch schedule attempts the item again."""
    policy = retry_policy()
    for item in items:
        try:
            with correlate(outbox_id=item.outbox_id,
                           ticket_id=int(item.ticket_id) if item.ticket_id is not None else None):
                if auto_replies.is_auto_reply(item):
                    auto_replies.deliver_claimed(item, now, policy)
                else:
                    _record(item, attempt(item), now, policy)
        except Exception:
            log.exception("fast-path delivery of outbox item %s failed; the schedule retries it", item.outbox_id)


MAX_KICKED = 100
"""Items one ``deliver_outbox`` job attempts (more wait for the schedule)."""


def deliver_job(payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The ``deliver_outbox`` background job (``chalicelib.background``): one attempt at each item a
    webhook just queued, right after its answer. Each is re-read and leased first, so the job and the
    dispatch schedule never both send one; whatever fails here is retried by the schedule."""
    policy = retry_policy()
    states: dict[str, str | None] = {}
    for oid in [str(i) for i in payload.get("ids") or []][:MAX_KICKED]:
        try:
            states[oid] = deliver(oid, now, policy)
        except Exception:
            log.exception("delivery of outbox item %s after ingest failed; the schedule retries it", oid)
            states[oid] = None
    return {"states": states}


def kick(outbox_ids: list[str]) -> None:
    """After a webhook's commit: hand its new outbox items to the ``deliver_outbox`` job (deployed an
    asynchronous Lambda invocation of the worker, one request and no wait; locally a thread), so the
    acknowledgement goes out in seconds, not at the next schedule. Off with ``NOTIFY_AFTER_INGEST=0``
    (everything then waits for the schedule, as it also does should the hand-off fail)."""
    if not outbox_ids or (os.environ.get("NOTIFY_AFTER_INGEST") or "1").lower() in ("0", "false", "off", "no"):
        return
    from chalicelib import background

    try:
        background.submit("deliver_outbox", {"ids": outbox_ids[:MAX_KICKED]})
    except Exception:
        log.exception("could not hand %d outbox items to the worker; the schedule delivers them", len(outbox_ids))


def redrive(outbox_id: str, actor: str, now: datetime) -> OutboxItem:
    """Give a ``failed`` item a fresh set of attempts, due now; noted on the ticket's timeline.

    Raises NotFound for an unknown id and Conflict when the item is not failed.
    """
    item = store_outbox.get(outbox_id)
    error = item.last_error
    store_outbox.redrive(item, now)
    _timeline(item, _event(item, "notification_redriven", previous_error=error), now, actor)
    return item
