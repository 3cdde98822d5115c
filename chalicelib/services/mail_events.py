"""Mail that is not a customer writing: bounces, complaints, auto-replies.

They never open a ticket and never get an auto-reply. When they concern one of
our messages (found through the ids it quotes, or the SES message id of an
SES notification) they join that ticket's timeline: a bounce or complaint
marks the outbound message undelivered, adds a ``delivery_failed`` event and
fires the ``delivery_failed`` trigger event (so a rule can tell the agent or
try another channel); an auto-reply or a delay warning is only noted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain import InboundMessage
from chalicelib.errors import NotFound
from chalicelib.mail.carriers import carrier_of
from chalicelib.mail.feedback import DeliveryFeedback
from chalicelib.mail.refs import expand_references
from chalicelib.services import flow, outbound
from chalicelib.store import changes, customers, deliveries, threads, tickets
from chalicelib.store.models import TicketItem

log = logging.getLogger(__name__)
FAILURE_KINDS = ("bounce", "complaint")
ACTOR = "system:email"


MAX_REF_CHARS = 900  # a DynamoDB key is at most 1,024 bytes: longer "ids" are not ours
RECIPIENT_LOOKBACK = timedelta(days=30)
EVENT_OF_KIND = {"delay": "delivery_delayed"}  # bounce/complaint: delivery_failed; others: auto_reply_received


def _find_ticket(ids: Iterable[str]) -> int | None:
    wanted = tuple(i for i in expand_references(ids) if 2 < len(i) <= MAX_REF_CHARS)
    found = threads.find_by_refs(wanted) if wanted else None
    if found is None:
        return None
    try:
        tickets.get_ticket(found)
    except NotFound:
        return None
    return found


def _failure_key(ids: Sequence[str], kind: str, fallback: str) -> str:
    """The same key for one failure whether SNS or a bounce mail reports it: the bare SES id if known."""
    expanded = expand_references(ids)
    bare = [i for i in expanded if not i.startswith("<")]
    first = bare[0] if bare else (expanded[0] if expanded else fallback)
    return f"{first}:{kind}"


def _outbound_event(number: int, ids: Sequence[str]) -> Any | None:
    """The newest message_out event of the ticket that any of ``ids`` names."""
    wanted = set(expand_references(ids))
    for event in reversed(tickets.get_timeline(number)):
        data = event.data or {}
        if event.type == "message_out" and (
                data.get("provider_message_id") in wanted or wanted & set(data.get("message_ids") or [])):
            return event
    return None


def record_delivery_failure(number: int, *, kind: str, ids: Sequence[str], recipients: list[Mapping[str, Any]],
                            detail: str, source: str, dedupe: str, now: datetime,
                            rule: str | None = None) -> tickets.IngestResult | None:
    """Mark the outbound message undelivered, add the timeline event, fire ``delivery_failed``.

    Once per ``dedupe`` (SNS and the mailbox may both report one bounce).
    """
    if not deliveries.claim_once(dedupe, number, now):
        log.info("delivery failure %s on ticket %s already recorded", dedupe, number)
        return None
    out = _outbound_event(number, ids)
    delivery = {"state": "complained" if kind == "complaint" else "bounced", "at": now.isoformat(),
                "detail": detail, "recipients": list(recipients), "source": source}
    if out is not None:
        tickets.update_event_data(number, out.event_id, {"delivery": delivery, "undelivered": True})
    diagnostic = "; ".join(str(r.get("diagnostic") or r.get("status") or "") for r in recipients if r)
    carriers = sorted({c for c in (carrier_of(str(r.get("address") or "")) for r in recipients if r) if c})
    data = {"kind": kind, "detail": detail, "reason": detail, "rule": rule, "recipients": list(recipients),
            "source": source, "carrier": carriers[0] if carriers else None,
            "message_event_id": out.event_id if out is not None else None, "message_ids": list(ids)[:20]}

    def mutate(_fields: dict[str, Any], ticket: TicketItem) -> flow.Extra:
        subject = (out.data or {}).get("subject", "") if out is not None else ""
        return flow.Extra(events=[{"type": "delivery_failed", "data": data}], event_types=["delivery_failed"],
                          event={"type": "delivery_failed", "body_text": diagnostic or detail,
                                 "subject": subject or ticket.subject, "channel": ticket.channel, "actor": ACTOR})

    with outbound.answering_machine_mail(kind):  # what the rules do about it, never a mail back to the robot
        changed = flow.change_ticket(number, mutate, actor=ACTOR, now=now)
    event = next((e for e in changed.events if e.type == "delivery_failed"), None)
    log.info("ticket %s: %s of %s recorded", number, kind, ids[:1])
    return tickets.IngestResult(number, event.event_id if event else "", duplicate=False, created=False,
                                ticket=changed.ticket)


def _ticket_sent_to(addresses: Iterable[str], now: datetime) -> int | None:
    """For a notice that quotes no id of ours (carriers' plain notices often do not): the newest recent
    ticket of the customer owning a failed address on which we mailed that address."""
    for address in list(dict.fromkeys(a for a in addresses if a and "@" in a))[:5]:
        customer_id = customers.find_customer_id("email", address)
        if not customer_id:
            continue
        for ticket in threads.recent_tickets(customer_id, now - RECIPIENT_LOOKBACK, limit=5):
            number = int(ticket.number)
            if any(e.type == "message_out" and str((e.data or {}).get("to") or "").lower().endswith(address)
                   for e in tickets.get_timeline(number)):
                return number
    return None


def record_automatic(msg: InboundMessage, *, raw_ref: str | None, now: datetime) -> tickets.IngestResult | None:
    """Handle an inbound bounce/auto-reply (``msg.metadata["automatic"]``); None when it concerns no ticket.

    A bounce or complaint is found by the ids it quotes, else by the failed recipient we mailed.
    """
    auto = msg.metadata["automatic"]
    ids = [*auto.get("original_message_ids", []), *msg.references]
    number = _find_ticket(ids)
    failed = [str(r.get("address") or "") for r in auto.get("recipients", [])]
    if number is None and auto["kind"] in FAILURE_KINDS:
        number = _ticket_sent_to(failed, now)
    if number is None:
        log.info("%s from %s (%s: %s) concerns no ticket: kept in %s only", auto["kind"],
                 msg.sender.identity_value, auto.get("rule"), auto.get("reason"), raw_ref)
        return None
    if auto["kind"] in FAILURE_KINDS:
        return record_delivery_failure(
            number, kind=auto["kind"], ids=ids, recipients=auto.get("recipients", []),
            detail=auto.get("reason", ""), source="mail", dedupe=_failure_key(ids, auto["kind"], msg.dedupe_key),
            now=now, rule=auto.get("rule"))
    if not deliveries.claim_once(msg.dedupe_key, number, now):
        return None
    kind = EVENT_OF_KIND.get(auto["kind"], "auto_reply_received")
    data = {"kind": auto["kind"], "rule": auto.get("rule"), "reason": auto.get("reason"), "subject": msg.subject,
            "from": msg.sender.email, "body_text": msg.body_text[:2000], "raw_ref": raw_ref,
            "recipients": auto.get("recipients", [])}
    items = changes.append_events(number, [{"type": kind, "data": data}], now, ACTOR)
    return tickets.IngestResult(number, items[0].event_id, duplicate=False, created=False)


def record_feedback(feedback: DeliveryFeedback, now: datetime) -> tickets.IngestResult | None:
    """Handle one SES bounce/complaint notification; None when the message is not ours."""
    ids = [feedback.ses_message_id]
    number = _find_ticket(ids)
    header_ticket = feedback.headers.get("x-helpdesk-ticket", "")
    if number is None and header_ticket.isascii() and header_ticket.isdigit() and len(header_ticket) <= 12:
        try:
            number = int(tickets.get_ticket(int(header_ticket)).number)
        except NotFound:
            number = None
    if number is None:
        log.info("SES %s for %s concerns no ticket", feedback.kind, feedback.ses_message_id)
        return None
    recipients = [r.to_dict() for r in feedback.recipients]
    return record_delivery_failure(
        number, kind=feedback.kind, ids=ids, recipients=recipients, detail=feedback.detail_type, source="ses",
        dedupe=_failure_key(ids, feedback.kind, feedback.feedback_id), now=now)
