"""Agent replies: never two answers to one message, never an unchecked draft.

Order: claim check -> "newer messages since what you saw" check -> pre-send
checks (422 unless overridden; the override is recorded) -> the reply is
committed to the timeline with the clocks it stops (version-checked: of two
racing agents exactly one commits, the other gets 409 with the newer events)
-> sent through the ticket's channel plugin -> the send result recorded.
Attachments (uploads under the ticket, ``services.attachments``) are checked
before the commit with S3 HEADs and listed on the same ``message_out`` event:
no extra DynamoDB request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from ulid import ULID

from chalicelib.domain import Status
from chalicelib.errors import Conflict, PresendFailed, ValidationFailed
from chalicelib.mail.refs import outbound_refs
from chalicelib.plugin_manager import get_plugin_manager
from chalicelib.secrets import get_secret
from chalicelib.services import attachments, claims, outbound
from chalicelib.services.flow import Extra, change_ticket
from chalicelib.services.outbound import blocking, carrier_warnings, check_draft
from chalicelib.store import customers, keys, sending, threads, tickets
from chalicelib.store.models import AgentItem, EventItem, TicketItem

log = logging.getLogger(__name__)
MESSAGE_TYPES = ("message_in", "message_out", "internal_message")
RECONCILE_AFTER = timedelta(minutes=10)
"""A reply still ``sending`` after this long was interrupted (a send takes seconds)."""
INTERRUPTED = ("interrupted before the provider confirmed the send; check the conversation and "
               "send it again if the customer did not get it")


@dataclass(frozen=True)
class ReplyRequest:
    """What an agent submits: a ``body``, or ``render`` (a template) producing it from the ticket."""

    body: str
    last_seen_event_id: str
    status: str = Status.OPEN.value
    to: str | None = None
    override: bool = False
    override_reason: str = ""
    render: Callable[[TicketItem], str] | None = None
    attachments: tuple[str, ...] = ()
    """Upload ids (``POST /tickets/{id}/attachments``) sent with the reply (email and form tickets)."""


def counts_as_newer(event: Any) -> bool:
    """A message the replying agent must have seen: customer and staff messages and other
    agents' replies (failed sends and automatic acknowledgements do not count)."""
    data = event.data or {}
    return event.type in MESSAGE_TYPES and data.get("state") != "failed" and not data.get("auto_reply")


def reply(number: int, agent: AgentItem, req: ReplyRequest, now: datetime) -> dict[str, Any]:
    """Commit and send an agent's reply; see the module docstring for the guarantees.

    Requests: one Query reads the header with the whole timeline (the seen event, newer
    messages and the threading references all come from it), one Query the customer with
    its identities, one transaction commits, one transaction records the send.
    """
    seen: dict[str, Any] = {}
    stored = attachments.for_reply(number, req.attachments) if req.attachments else []  # S3 HEADs only

    def load(n: int) -> tuple[TicketItem, Any]:
        ticket, timeline = tickets.get_with_timeline(n)
        customer, identities = customers.get_with_identities(ticket.customer_id)
        seen.update(timeline=timeline, known=(customer, identities))
        return ticket, customer

    def mutate(fields: dict[str, Any], ticket: TicketItem) -> Extra:
        attachments.ensure_channel_sends_files(ticket.channel, stored)
        claims.ensure_free_for(ticket, agent.agent_id, now)
        timeline: list[EventItem] = seen["timeline"]
        last_seen = keys.event_sk(req.last_seen_event_id)
        if not any(e.sk == last_seen for e in timeline):
            raise ValidationFailed([{"field": "last_seen_event_id", "pointer": "/last_seen_event_id",
                                     "message": f"no event {req.last_seen_event_id} on ticket {number}"}])
        newer = [e for e in timeline if e.sk > last_seen and counts_as_newer(e)]
        if newer:
            raise Conflict("newer messages arrived since you read the ticket; read them first",
                           {"newer_events": [tickets.event_to_dict(e) for e in newer]})
        body = req.render(ticket) if req.render is not None else req.body
        to = req.to or ticket.customer_email
        problems = check_draft(ticket, body, to, known=seen["known"]) + carrier_warnings(to)
        if blocking(problems) and not req.override:
            raise PresendFailed([p.to_dict() for p in problems])
        fields["first_replied_at"] = fields.get("first_replied_at") or now
        fields["last_agent_reply_at"] = now
        fields["awaiting_reply_since"] = None
        fields["status"] = req.status
        data = {"body_text": body, "to": to, "channel": ticket.channel, "agent": agent.agent_id,
                "agent_name": agent.name, "state": "sending"}
        if problems:
            data["checks"] = [p.to_dict() for p in problems]
        if req.override and blocking(problems):
            data["override"] = {"by": agent.agent_id, "reason": req.override_reason}
        if stored:
            data["attachments"] = [attachments.to_dict(f) for f in stored]
        seen.update(to=to, body=body)
        event_id = str(ULID.from_datetime(now))
        return Extra(events=[{"type": "message_out", "id": event_id, "data": data}], event_types=["agent_reply"],
                     event={"body_text": body, "actor": f"agent:{agent.agent_id}"},
                     items=[sending.marker(number, event_id)])

    changed = change_ticket(number, mutate, actor=f"agent:{agent.agent_id}", now=now, load=load)
    out_event = next(e for e in changed.events if e.type == "message_out")
    result = send(changed.ticket, out_event, seen["to"], seen["body"], now, timeline=seen["timeline"], files=stored)
    return {"ticket_id": number, "event_id": out_event.event_id, **result,
            "checks": (out_event.data or {}).get("checks", [])}


def send(ticket: TicketItem, event: EventItem, to: str, body: str, now: datetime,
         timeline: list[Any] | None = None, files: list[Any] | tuple[Any, ...] = ()) -> dict[str, Any]:
    """Send a committed outbound message through the channel plugin and record the outcome.

    Once the provider accepted the message it counts as sent, whatever fails afterwards: the
    outcome, the message's references and the end of the in-flight marker are written in one
    transaction; if that fails, the acceptance is noted on the marker (the answer is still
    "sent") and ``reconcile`` finishes the record later.
    """
    number = int(ticket.number)
    msg = outbound.to_customer(ticket, to, f"Re: {ticket.subject}", body, event_id=event.event_id, timeline=timeline)
    try:
        if files:
            msg = replace(msg, attachments=attachments.load(list(files)))
        result = get_plugin_manager().hook.helpdesk_send_message(message=msg, get_secret=get_secret)
        if result is None:
            raise RuntimeError(f"no plugin sends on channel {ticket.channel!r}")
    except Exception as exc:
        log.exception("sending the reply on ticket %s failed", number)
        try:
            sending.finish(event, {"state": "failed", "error": str(exc)[:2000]})
        except Exception:
            log.exception("ticket %s: could not record that reply %s failed; reconcile will", number,
                          event.event_id)
        return {"sent": False, "error": str(exc)}
    ids = outbound_refs(result, msg)
    recorded = _record_sent(event, result.provider_message_id, ids, now)
    if not recorded:
        try:
            sending.mark_accepted(number, event.event_id, result.provider_message_id, ids)
        except Exception:
            log.exception("ticket %s: could not note that reply %s was accepted", number, event.event_id)
    return {"sent": True, "provider_message_id": result.provider_message_id, "recorded": recorded}


def _record_sent(event: EventItem, provider_message_id: str, ids: list[str], now: datetime) -> bool:
    """Put a sent message's ids and state on the timeline (one transaction); False (logged) when that failed."""
    number = int(event.pk.split("#", 1)[1])
    try:
        sending.finish(event, {"state": "sent", "provider_message_id": provider_message_id, "message_ids": ids},
                       [threads.ref_item("msg", ref, number, now) for ref in ids])
    except Exception:
        log.exception("ticket %s: reply %s was sent but recording it failed; reconcile will repair it",
                      number, event.event_id)
        return False
    return True


def reconcile(now: datetime, older_than: timedelta = RECONCILE_AFTER) -> dict[str, int]:
    """Finish every reply stuck in ``sending`` for longer than ``older_than``: one the provider
    accepted becomes ``sent`` (counted once, like any reply); one without an acceptance (the
    process died before or while sending) becomes ``failed`` with the reason, visible on the
    timeline for an agent to check and resend: never silently dropped, never sent twice."""
    counts = {"sent": 0, "failed": 0, "skipped": 0}
    for item in sending.stale(now, older_than):
        number, event_id = int(item.ticket_id), item.event_id
        event = tickets.get_event(number, event_id)
        if event is None or (event.data or {}).get("state") != "sending":
            sending.done(number, event_id)
            counts["skipped"] += 1
        elif item.provider_message_id:
            ids = (item.message_ids or "").split()
            if _record_sent(event, item.provider_message_id, ids, now):
                counts["sent"] += 1
        else:
            sending.finish(event, {"state": "failed", "error": INTERRUPTED})
            counts["failed"] += 1
    if any(counts.values()):
        log.info("reconciled replies stuck in sending: %s", counts)
    return counts
