"""Ingest: webhook delivery -> verified -> raw kept -> parsed -> exactly one ticket/event."""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib import limits, metrics
from chalicelib.directory import load_directory
from chalicelib.domain import InboundMessage, InboundRequest
from chalicelib.errors import Conflict, Unauthorized, UnknownChannel, ValidationFailed
from chalicelib.log import correlate
from chalicelib.plugin_manager import channel_names, get_plugin_manager
from chalicelib.secrets import get_secret
from chalicelib.services import dispatch, flow, mail_events, thread_match
from chalicelib.settings import get_settings
from chalicelib.store import customers, inbound, outbox, raw, tickets

log = logging.getLogger(__name__)
THREAD_ATTEMPTS = 5
"""Rounds of find-then-create/append for one message (a lost race on a new conversation takes one more)."""
APPEND_ATTEMPTS = 30
"""Optimistic attempts to append to a busy ticket (20 concurrent first messages of one chat land)."""


@dataclass
class DeliveryOutcome:
    """What happened to one webhook delivery."""

    raw_ref: str
    results: list[tickets.IngestResult] = field(default_factory=list)
    automatic: list[dict[str, Any]] = field(default_factory=list)
    response: dict[str, Any] | None = None  # a handshake's immediate answer (nothing was ingested)

    @property
    def created_any(self) -> bool:
        """Did this delivery create at least one new ticket or event?"""
        return any(not r.duplicate for r in self.results)


def receive(
    channel: str, headers: Mapping[str, str], body: bytes, query: Mapping[str, str], now: datetime
) -> DeliveryOutcome:
    """Handle one delivery to ``POST /webhooks/{channel}``.

    Order matters: verify the sender first (nothing from an unverified sender is
    stored), then answer a handshake at once (``helpdesk_inbound_response``: no
    raw payload, no ticket), else keep the raw payload, then parse. A parse failure raises
    ``ValidationFailed`` carrying ``raw_ref`` so the payload is never lost.
    """
    pm = get_plugin_manager()
    if channel not in channel_names(pm):
        raise UnknownChannel(f"no plugin handles channel {channel!r}")
    request = InboundRequest(
        channel=channel, headers={k.lower(): v for k, v in headers.items()}, body=body, query=dict(query)
    )
    verified = pm.hook.helpdesk_verify_inbound(channel=channel, request=request, get_secret=get_secret, now=now)
    if not verified:
        raise Unauthorized(f"no plugin verified the {channel} delivery")
    immediate = pm.hook.helpdesk_inbound_response(channel=channel, request=request, now=now)
    if immediate is not None:
        return DeliveryOutcome(raw_ref="", response=dict(immediate))
    raw_ref = raw.put_raw(channel, body, dict(request.headers), now)
    try:
        messages = pm.hook.helpdesk_parse_inbound(channel=channel, request=request, now=now) or []
    except ValidationFailed as exc:
        exc.raw_ref = raw_ref  # type: ignore[attr-defined]
        log.info("rejected %s delivery %s: %s", channel, raw_ref, exc.errors)
        raise
    return ingest_all(messages, raw_ref, now)


def ingest_all(messages: list[InboundMessage], raw_ref: str, now: datetime) -> DeliveryOutcome:
    """Ingest parsed messages. Machine mail (``metadata["automatic"]``: bounces, auto-replies) never
    opens a ticket or gets an auto-reply; it only joins the ticket it concerns, if any."""
    outcome = DeliveryOutcome(raw_ref)
    for parsed in messages:
        msg = limits.fit_message(parsed)  # DynamoDB's item and key limits; what was cut is noted
        auto = msg.metadata.get("automatic")
        if auto:
            result = mail_events.record_automatic(msg, raw_ref=raw_ref, now=now)
            outcome.automatic.append({"kind": auto.get("kind"), "rule": auto.get("rule"), "reason": auto.get("reason"),
                                      "ticket_id": result.ticket_id if result else None})
            if result is not None:
                outcome.results.append(result)
            continue
        with correlate(delivery_id=raw_ref, channel=msg.channel):
            result = ingest_message(msg, raw_ref=raw_ref, now=now)
            if result.duplicate:
                tickets.note_repeat(msg.dedupe_key, raw_ref)
            outcome.results.append(result)
    queued = [i.outbox_id for r in outcome.results if not r.duplicate for i in outbox.attached(r.effects)
              if i.outbox_state == outbox.PENDING]
    dispatch.kick(queued)  # delivered after the answer (the dispatch schedule is the safety net)
    return outcome


def ingest_stored(channel: str, raw_ref: str, body: bytes, now: datetime) -> DeliveryOutcome:
    """Ingest a delivery already kept in the raw bucket (the SES receipt rule's object): the bucket is
    ours, so there is no webhook secret to check; parsing and ingest are as for ``receive``."""
    pm = get_plugin_manager()
    request = InboundRequest(channel=channel, headers={"content-type": "message/rfc822"}, body=body)
    messages = pm.hook.helpdesk_parse_inbound(channel=channel, request=request, now=now) or []
    return ingest_all(messages, raw_ref, now)


def ingest_message(msg: InboundMessage, *, raw_ref: str | None, now: datetime) -> tickets.IngestResult:
    """Record one inbound message once: find or create the customer, thread it into an
    existing ticket or start a new one, with what the rules decided, in one transaction.

    Requests: one batch read (dedupe record, sender identity, references), one more only
    when there is a customer or a ticket to read, the ticket number for a new ticket, and
    the transaction. Notifications and auto-replies are queued in that transaction; the
    dispatch job delivers them, so nothing is sent inside the webhook's answer.
    """
    claimed = thread_match.claims(msg)
    identity = (msg.sender.identity_kind, msg.sender.identity_value)
    staff = dataclasses.replace(msg, internal=True) if is_staff_reply(msg) else None
    for _attempt in range(THREAD_ATTEMPTS):
        known = inbound.first_read(msg.dedupe_key, identity, claimed, now)
        if known.duplicate is not None:
            return known.duplicate
        numbers = thread_match.candidates(msg, known.owners)
        customer, headers = (inbound.second_read(known.customer_id, numbers) if known.customer_id or numbers
                             else (None, {}))
        if staff is not None:
            match = thread_match.choose(staff, "", known.owners, headers, now)
            if match.ticket is not None:
                return _log(msg, _append(match.ticket, staff, None, None, raw_ref, now))
        new = None
        if customer is None and known.customer_id:  # a pointer without its record: the old repair path
            customer = customers.find_or_create_customer(*identity, name=msg.sender.name, email=msg.sender.email,
                                                         now=now)
        elif customer is None:
            new = customers.new_customer(*identity, name=msg.sender.name, email=msg.sender.email, now=now)
            customer = new.item
        match = thread_match.choose(msg, customer.customer_id, known.owners, headers, now)
        try:
            if match.ticket is not None:
                return _log(msg, _append(match.ticket, msg, customer, new, raw_ref, now))
            result = tickets.create_ticket(msg, customer, now=now, raw_ref=raw_ref,
                                           prepare=flow.prepare_new_ticket(customer),
                                           claims=claimed, owners=match.owners, new_customer=new)
        except tickets.ThreadClaimed:
            log.info("%s: a concurrent delivery started this conversation's ticket; joining it", msg.dedupe_key)
            continue  # the winner's ticket owns the conversation now: thread into it
        except tickets.SenderClaimed:
            log.info("%s: a concurrent delivery created this sender's customer; using it", msg.dedupe_key)
            continue
        if result.created and not result.duplicate:
            metrics.count("TicketsCreated", channel=msg.channel)
        return _log(msg, result)
    raise Conflict(f"could not thread {msg.dedupe_key}: its conversation kept changing")


def _log(msg: InboundMessage, result: tickets.IngestResult) -> tickets.IngestResult:
    with correlate(ticket_id=result.ticket_id):
        log.info(
            "ingested %s message %s -> ticket %s%s",
            msg.channel, msg.dedupe_key, result.ticket_id, " (duplicate)" if result.duplicate else "",
        )
    return result


def is_staff_reply(msg: InboundMessage) -> bool:
    """A directory contact answering an escalation by email (with threading hints). Chat
    senders are never treated as staff: anyone can type a colleague's address into a widget."""
    if msg.sender.identity_kind != "email" or not (msg.references or msg.ticket_hint or msg.thread_key):
        return False
    return load_directory(get_settings().rules_dir).contact_by_email(msg.sender.email) is not None


def _append(ticket: Any, msg: InboundMessage, customer: Any, new: Any, raw_ref: str | None, now: datetime
            ) -> tickets.IngestResult:
    """Append with optimistic retries: a burst of messages on one conversation all land, one at a time.
    ``new``: the sender's customer, created in the same transaction (``SenderClaimed`` if a concurrent
    delivery created it first: the caller reads again)."""
    for attempt in range(APPEND_ATTEMPTS):
        if attempt:
            time.sleep(random.uniform(0, min(0.4, 0.01 * 2 ** attempt)))  # jittered backoff
            ticket = tickets.get_ticket(int(ticket.number))
        try:
            return tickets.append_message(ticket, msg, now=now, raw_ref=raw_ref, new_customer=new,
                                          prepare=flow.prepare_message(customer, msg))
        except tickets.SenderClaimed:
            raise
        except Conflict:
            continue
    raise Conflict(f"could not record {msg.dedupe_key}: the ticket kept changing")
