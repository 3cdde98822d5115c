"""Messages to the customer, agent replies and rule auto-replies alike: build them with what
the channel needs to thread (references, the conversation to answer in), and after sending
remember every id a reply to them may quote (for email: our Message-ID, the SES message id
and the ``<id@region.amazonses.com>`` Message-ID SES gave the mail)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from chalicelib.domain import OutboundMessage, SendResult
from chalicelib.mail.refs import outbound_refs
from chalicelib.mail.senders import machine_reason
from chalicelib.presend import Draft, Problem, load_config, run_checks
from chalicelib.settings import get_settings
from chalicelib.store import customers, threads, tickets
from chalicelib.store.models import TicketItem


def references(timeline: list[Any]) -> list[str]:
    """Every message id seen on the ticket, oldest first (for In-Reply-To/References)."""
    ids: list[str] = []
    for e in timeline:
        ids += (e.data or {}).get("message_ids") or []
    return ids


def reply_target(timeline: list[Any], channel: str) -> dict[str, Any]:
    """Where a reply goes back to: the ``metadata`` its channel plugin kept with the ticket's latest
    customer message on ``channel`` (a Slack thread, a LINE user, a chat conversation); ``{}`` if none."""
    for e in reversed(timeline):
        data = e.data or {}
        if e.type == "message_in" and data.get("channel") == channel:
            return dict(data.get("metadata") or {})
    return {}


def to_customer(ticket: TicketItem, to: str, subject: str, body: str, *, timeline: list[Any] | None = None,
                **metadata: Any) -> OutboundMessage:
    """An outbound message on the ticket's channel with threading references and reply target
    (from ``timeline`` when the caller already read it, else read here)."""
    if timeline is None:
        timeline = tickets.get_timeline(int(ticket.number))
    return OutboundMessage(ticket_id=int(ticket.number), channel=ticket.channel, to=to or "", subject=subject,
                           body_text=body, metadata={**metadata, "references": references(timeline),
                                                     "reply_target": reply_target(timeline, ticket.channel)})


def sent_refs(ticket_id: int, send_result: SendResult, now: datetime,
              message: OutboundMessage | None = None) -> tuple[list[str], list[Any]]:
    """The ids a reply to the sent message may quote, and their REF items (to write with the record
    of the send, in the same request)."""
    ids = outbound_refs(send_result, message)
    return ids, [threads.ref_item("msg", ref, ticket_id, now) for ref in dict.fromkeys(ids)]


def record_sent(ticket_id: int, send_result: SendResult, now: datetime,
                message: OutboundMessage | None = None) -> list[str]:
    """Write the REF items of every id of the sent message in one batch request (idempotent);
    returns the ids."""
    from chalicelib.store.models import RefItem

    ids, items = sent_refs(ticket_id, send_result, now, message)
    with RefItem.batch_write() as batch:
        for item in items:
            batch.save(item)
    return ids


def carrier_warnings(address: str | None) -> list[Problem]:
    """An advisory warning when the customer's address is a mobile-carrier one."""
    try:
        from chalicelib.mail.carriers import is_carrier_address
    except ImportError:  # the email package is optional for this check
        return []
    if address and is_carrier_address(address):
        return [Problem("carrier_address", f"{address} is a mobile-carrier address: mail from a PC may be "
                                           "refused unless the customer allows our domain", address)]
    return []


MAIL_CHANNELS = ("email", "form")  # channels answered by mail (form customers too)


def machine_address(channel: str, to: str | None) -> Problem | None:
    """A mail recipient that is not a person: null, role, no-reply or notification sender."""
    if channel not in MAIL_CHANNELS:
        return None
    reason = machine_reason(to)
    return Problem("machine_address", f"{to or '(no address)'}: {reason}; nothing automatic is sent there",
                   to or "") if reason else None


_answering: ContextVar[str | None] = ContextVar("answering_machine_mail", default=None)


@contextmanager
def answering_machine_mail(kind: str) -> Iterator[None]:
    """While recording machine mail (a bounce firing ``delivery_failed``), rules it fires send nothing
    automatic to the customer: that would be an answer to a robot."""
    token = _answering.set(kind)
    try:
        yield
    finally:
        _answering.reset(token)


def automatic_send_refusal(ticket: TicketItem, to: str | None) -> str | None:
    """Why no auto-reply or rule mail may go to ``to`` on this ticket now, or None.

    Never to no address, never to a machine address (``chalicelib.mail.senders``),
    never in answer to machine mail (rules fired while a bounce, complaint or
    auto-reply is recorded: ``answering_machine_mail``).
    """
    if not (to or "").strip():
        return "the ticket has no address to send to"
    problem = machine_address(ticket.channel, to)
    if problem is not None:
        return problem.message
    if _answering.get():
        return f"fired by machine mail ({_answering.get()}); machine mail is never answered"
    return None


def check_draft(ticket: TicketItem, body: str, to: str | None, subject: str = "",
                known: tuple[Any, list[dict[str, str]]] | None = None) -> list[Problem]:
    """Every pre-send problem of a draft for this ticket (blocking ones first, then warnings).
    ``known``: the customer and identities when the caller already read them
    (``customers.get_with_identities``), else one Query reads them."""
    customer, identities = known if known is not None else customers.get_with_identities(ticket.customer_id)
    addresses = tuple(i["value"] for i in identities if i["kind"] == "email")
    draft = Draft(body=body, subject=subject, to=to, customer_addresses=addresses,
                  customer_name=(customer.name if customer else None) or ticket.customer_name)
    extra = [machine_address(ticket.channel, to)] if to else []
    if not (to or "").strip() and ticket.channel in MAIL_CHANNELS:
        extra = [Problem("no_address", "the ticket's customer has no email address to send to")]
    return run_checks(draft, load_config(get_settings().rules_dir), [p for p in extra if p])


def blocking(problems: list[Problem]) -> list[Problem]:
    """Problems that stop a send unless overridden (everything but advisory warnings)."""
    return [p for p in problems if p.check != "carrier_address"]
