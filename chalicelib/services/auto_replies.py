"""Auto-replies (a rule's ``auto_reply`` action, e.g. the acknowledgement of a new ticket) go through
the durable outbox like every notification.

Before the ticket change commits, ``queue`` renders each auto-reply, applies the hard guard
(never to a machine address, to nobody, or in answer to machine mail) and the pre-send checks,
and attaches an outbox item to the effect (``store.outbox.EFFECT_KEY``), written in the same
transaction as the ticket; a reply that may not go is an ``auto_reply_not_sent`` event in that
transaction instead. Nothing is sent inside the webhook's answer: the dispatch job (every
minute) delivers the item through the ticket's channel plugin (``deliver_claimed``), retries it
with backoff when the channel fails, and records the sent message (its ``message_out`` event,
the threading references of every id it got and the item's ``sent`` state) in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError
from ulid import ULID

from chalicelib import metrics
from chalicelib.backoff import RetryPolicy, next_attempt_at
from chalicelib.domain import OutboundMessage, SendResult
from chalicelib.plugin_manager import get_plugin_manager
from chalicelib.secrets import get_secret
from chalicelib.services import outbound
from chalicelib.store import changes, tickets
from chalicelib.store import outbox as store_outbox
from chalicelib.store.models import CustomerItem, OutboxItem, TicketItem
from chalicelib.store.tx import transact_write

log = logging.getLogger(__name__)
KIND = "auto_reply"
ACTOR = "system:outbox"


def is_auto_reply(item: OutboxItem) -> bool:
    """Is this outbox item an auto-reply to the customer (sent through the ticket's channel)?"""
    return (item.data or {}).get("kind") == KIND


def _thread(event: Mapping[str, Any] | None, channel: str) -> tuple[list[str] | None, dict[str, Any] | None]:
    """References and reply target of a reply to ``event`` (the ticket's only message so far), or
    ``(None, None)``: then the delivery reads them from the timeline."""
    if event is None:
        return None, None
    data = event.get("data") or {}
    target = dict(data.get("metadata") or {}) if event.get("type") == "message_in" and data.get(
        "channel") == channel else {}
    return list(data.get("message_ids") or []), target


def _addresses(ticket: TicketItem, customer: CustomerItem) -> tuple[str, ...]:
    """The customer's addresses known at ingest (its record's and the ticket's)."""
    return tuple(dict.fromkeys(a for a in (customer.email, ticket.customer_email) if a))


def queue(ticket: TicketItem, effects: list[dict[str, Any]], now: datetime, *, customer: CustomerItem | None = None,
          first_event: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Before commit: attach an outbox item to each ``auto_reply`` effect; returns the timeline events of
    the ones that may not go (``auto_reply_not_sent``) or could not be prepared (``effect_failed``).

    ``customer`` (the ticket's customer, in hand at ingest) and ``first_event`` (the new ticket's
    first message) spare every read: language, name and addresses for the checks, references and
    the conversation to answer in.
    """
    from chalicelib.services import effects as effects_service

    events: list[dict[str, Any]] = []
    for effect in effects:
        if effect.get("type") != "auto_reply" or store_outbox.EFFECT_KEY in effect:
            continue
        effect[store_outbox.EFFECT_KEY] = None  # handled: queued, refused or failed (never twice)
        try:
            item, refused = _prepare(ticket, effect, now, customer, first_event, effects_service)
        except Exception as exc:
            log.exception("auto-reply of rule %s failed", effect.get("rule_id"))
            events.append({"type": "effect_failed", "data": {"rule_id": effect.get("rule_id"),
                                                             "effect": effect["type"], "error": str(exc)}})
            continue
        if refused is not None:
            events.append(refused)
        else:
            effect[store_outbox.EFFECT_KEY] = item
    return events


def _prepare(ticket: TicketItem, effect: dict[str, Any], now: datetime, customer: CustomerItem | None,
             first_event: Mapping[str, Any] | None, effects_service: Any) -> tuple[OutboxItem | None, dict | None]:
    lang = str(effect.get("lang") or (customer.lang if customer is not None else None)
               or (effects_service.DEFAULT_LANG if customer is not None else effects_service.customer_lang(ticket)))
    context = effects_service.template_context(ticket, effect, now, lang)
    rendered = effects_service.render_for(None, effect, context, lang)
    to = ticket.customer_email or ""
    data = {"rule_id": effect.get("rule_id"), "subject": rendered.subject, "body_text": rendered.body, "to": to,
            "auto_reply": True}
    refusal = outbound.automatic_send_refusal(ticket, to)
    if refusal:  # the hard guard: never an automatic mail to a robot, to nobody, or in answer to a robot
        log.info("auto-reply of rule %s on ticket %s not sent: %s", effect.get("rule_id"), ticket.number, refusal)
        return None, {"type": "auto_reply_not_sent", "data": {**data, "error": refusal, "guard": "machine_mail"}}
    known = (customer, [{"kind": "email", "value": a} for a in _addresses(ticket, customer)]) if customer else None
    problems = outbound.blocking(outbound.check_draft(ticket, rendered.body, to, rendered.subject, known=known))
    if problems:
        return None, {"type": "auto_reply_not_sent", "data": {**data, "problems": [p.to_dict() for p in problems],
                                                              "error": "pre-send checks failed"}}
    references, target = _thread(first_event, ticket.channel)
    dedupe = effect.get("dedupe_key") or f"{KIND}#{int(ticket.number)}#{effect.get('rule_id')}#{now.isoformat()}"
    item = store_outbox.new_item(
        dedupe_key=dedupe, ticket_id=int(ticket.number), rule_id=effect.get("rule_id"),
        target=f"{KIND}:{ticket.channel}", to="customer", recipient=to, subject=rendered.subject,
        body=rendered.body, lang=lang, now=now,
        data={"kind": KIND, "channel": ticket.channel, "references": references, "reply_target": target,
              "event_id": str(ULID.from_datetime(now)),  # the message_out's id, and the channel's delivery id
              "link": effects_service.ticket_link(int(ticket.number))})
    return item, None


def message_of(item: OutboxItem) -> OutboundMessage:
    """The message to send for an auto-reply item (references read from the timeline when the item
    does not carry them: replies queued by the sweep or an agent's change)."""
    data = item.data or {}
    channel, number = str(data.get("channel")), int(item.ticket_id)
    references, target = data.get("references"), data.get("reply_target")
    if references is None:
        timeline = tickets.get_timeline(number)
        references, target = outbound.references(timeline), outbound.reply_target(timeline, channel)
    return OutboundMessage(ticket_id=number, channel=channel, to=item.recipient or "", subject=item.subject,
                           body_text=item.body, metadata={"rule_id": item.rule_id, "auto_reply": True,
                                                          "outbox_id": item.outbox_id, "references": list(references),
                                                          "reply_target": dict(target or {}),
                                                          "event_id": data.get("event_id") or item.outbox_id})


def _event_data(item: OutboxItem, **extra: Any) -> dict[str, Any]:
    return {"rule_id": item.rule_id, "subject": item.subject, "body_text": item.body, "to": item.recipient,
            "auto_reply": True, "outbox_id": item.outbox_id, "attempts": int(item.attempts or 0), **extra}


def deliver_claimed(item: OutboxItem, now: datetime, policy: RetryPolicy) -> str:
    """One attempt at a leased auto-reply item: send it through its channel, record the outcome;
    returns the item's new state."""
    data = item.data or {}
    guard = outbound.machine_address(str(data.get("channel")), item.recipient)
    if guard is not None:  # checked when queued; checked again: never a mail to a robot
        return _failed(item, now, guard.message)
    msg = message_of(item)
    try:
        result = get_plugin_manager().hook.helpdesk_send_message(message=msg, get_secret=get_secret)
    except Exception as exc:  # noqa: BLE001 - a channel error is a failed attempt, retried
        log.warning("auto-reply %s attempt %s failed: %s", item.outbox_id, item.attempts, exc)
        error = f"{type(exc).__name__}: {exc}"[:1000]
        retry_at = next_attempt_at(now, int(item.attempts or 0), policy)
        if retry_at is None:
            return _failed(item, now, error)
        metrics.count("AutoRepliesRetried")
        store_outbox.mark_retry(item, now, retry_at, error)
        return store_outbox.PENDING
    if result is None:
        return _failed(item, now, f"no plugin sends on channel {msg.channel!r}")
    _record_sent(item, msg, result, now)
    metrics.count("AutoRepliesSent")
    return store_outbox.SENT


def _record_sent(item: OutboxItem, msg: OutboundMessage, result: SendResult, now: datetime) -> None:
    """The item ``sent``, the ``message_out`` event and the REF item of every id of the sent message,
    in one transaction (if the lease was lost meanwhile, the event and references still go)."""
    number = int(item.ticket_id)
    ids, refs = outbound.sent_refs(number, result, now, msg)
    event = changes.event_item(number, {"type": "message_out", "data": _event_data(
        item, state="sent", provider_message_id=result.provider_message_id, message_ids=ids)}, now, ACTOR,
        event_id=(item.data or {}).get("event_id"))
    actions = store_outbox.sent_actions(item, now, f"sent as {result.provider_message_id}")
    try:
        with transact_write() as tw:
            tw.update(item, actions=actions)
            tw.save(event)
            for ref in refs:
                tw.save(ref)
    except TransactWriteError:
        log.warning("auto-reply %s: sent, but its outbox item changed meanwhile; recording the send", item.outbox_id)
        event.save()
        outbound.record_sent(number, result, now, msg)


def _failed(item: OutboxItem, now: datetime, error: str) -> str:
    if store_outbox.mark_failed(item, now, error):
        metrics.count("AutoRepliesFailed")
        log.error("auto-reply %s not sent after %s attempts: %s", item.outbox_id, item.attempts, error)
        changes.append_events(int(item.ticket_id), [{"type": "auto_reply_not_sent", "data": _event_data(
            item, error=error)}], now, ACTOR)
    return store_outbox.FAILED
