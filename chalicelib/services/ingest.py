"""Ingest: webhook delivery -> verified -> raw kept -> parsed -> exactly one ticket/event."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from chalicelib.domain import InboundMessage, InboundRequest
from chalicelib.errors import Conflict, Unauthorized, UnknownChannel, ValidationFailed
from chalicelib.plugin_manager import channel_names, get_plugin_manager
from chalicelib.secrets import get_secret
from chalicelib.services import flow, thread_match
from chalicelib.store import customers, raw, tickets

log = logging.getLogger(__name__)


@dataclass
class DeliveryOutcome:
    """What happened to one webhook delivery."""

    raw_ref: str
    results: list[tickets.IngestResult] = field(default_factory=list)

    @property
    def created_any(self) -> bool:
        """Did this delivery create at least one new ticket or event?"""
        return any(not r.duplicate for r in self.results)


def receive(
    channel: str, headers: Mapping[str, str], body: bytes, query: Mapping[str, str], now: datetime
) -> DeliveryOutcome:
    """Handle one delivery to ``POST /webhooks/{channel}``.

    Order matters: verify the sender first (nothing from an unverified sender is
    stored), then keep the raw payload, then parse. A parse failure raises
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
    raw_ref = raw.put_raw(channel, body, dict(request.headers), now)
    try:
        messages = pm.hook.helpdesk_parse_inbound(channel=channel, request=request, now=now) or []
    except ValidationFailed as exc:
        exc.raw_ref = raw_ref  # type: ignore[attr-defined]
        log.info("rejected %s delivery %s: %s", channel, raw_ref, exc.errors)
        raise
    outcome = DeliveryOutcome(raw_ref)
    for msg in messages:
        outcome.results.append(ingest_message(msg, raw_ref=raw_ref, now=now))
    return outcome


def ingest_message(msg: InboundMessage, *, raw_ref: str | None, now: datetime) -> tickets.IngestResult:
    """Record one inbound message once: find or create the customer, thread it into an
    existing ticket or start a new one, then carry out what the rules decided."""
    earlier = tickets.find_duplicate(msg.dedupe_key, now)
    if earlier:
        return earlier
    customer = customers.find_or_create_customer(
        msg.sender.identity_kind,
        msg.sender.identity_value,
        name=msg.sender.name,
        email=msg.sender.email,
        now=now,
    )
    result = None
    for _attempt in range(flow.MAX_ATTEMPTS):
        ticket = thread_match.find_ticket(msg, customer.customer_id, now)
        if ticket is None:
            result = tickets.create_ticket(msg, customer, now=now, raw_ref=raw_ref,
                                           prepare=flow.prepare_new_ticket(customer))
            break
        try:
            result = tickets.append_message(ticket, msg, now=now, raw_ref=raw_ref,
                                            prepare=flow.prepare_message(customer, msg))
            break
        except Conflict:
            continue
    if result is None:
        raise Conflict(f"could not record {msg.dedupe_key}: the ticket kept changing")
    if not result.duplicate and result.ticket is not None:
        flow.run_effects(result.ticket, result.effects, now)
    log.info(
        "ingested %s message %s -> ticket %s%s",
        msg.channel, msg.dedupe_key, result.ticket_id, " (duplicate)" if result.duplicate else "",
    )
    return result
