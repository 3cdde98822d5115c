"""Outbound mail as raw MIME (stdlib ``EmailMessage``), ready for SES ``SendRawEmail``.

Always a UTF-8 ``text/plain`` part (base64 when it is not ASCII, so long
Japanese lines survive), the ``[#1234]`` token in the subject, ``Reply-To``
routing back to the ticket (``support+1234@<reply domain>``), ``In-Reply-To``
and ``References`` from the ticket's message ids, and RFC 3834 headers on
automatic replies so the customer's responder does not answer them.
With attachments the message becomes ``multipart/mixed``: the text first, then
one base64 part per file whose name is given as RFC 2231 parameters
(``filename*=utf-8''...`` on Content-Disposition, ``name*=`` on Content-Type,
split into ``*0*``/``*1*`` continuations when long), so Japanese names survive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from chalicelib.domain import OutboundAttachment
from chalicelib.mail.refs import with_token

MAX_REFERENCES = 20
# SES message ids are ~90 characters: with the default 78 the folder would turn them into encoded words.
_POLICY = policy.SMTP.clone(max_line_length=998)


@dataclass(frozen=True)
class Composed:
    """The raw message and the Message-ID we gave it (SES replaces it on send)."""

    raw: bytes
    message_id: str


def routing_address(from_addr: str, ticket_id: int, reply_domain: str | None) -> str:
    """``local+<ticket>@domain``: replies to it carry the ticket number even without headers."""
    local, _, domain = from_addr.partition("@")
    return f"{local.split('+')[0]}+{ticket_id}@{reply_domain or domain}"


def thread_headers(references: Sequence[str], own_domain: str | None) -> tuple[str | None, list[str]]:
    """``(In-Reply-To, References)`` from the ticket's message ids, oldest first.

    Only ``<...>`` ids count (bare provider ids are not Message-IDs); our own
    pre-send ids at ``own_domain`` are dropped (SES replaced them, nobody saw
    them). In-Reply-To is the newest id from someone else (the customer's
    latest mail), else the newest id.
    """
    ids = [r for r in dict.fromkeys(references) if r.startswith("<") and r.endswith(">")]
    if own_domain:
        ids = [r for r in ids if not r.lower().endswith("@" + own_domain.lower() + ">")]
    theirs = [r for r in ids if "amazonses.com>" not in r.lower()]
    in_reply_to = (theirs or ids or [None])[-1]
    return in_reply_to, ids[-MAX_REFERENCES:]


def build_reply(
    *,
    from_addr: str,
    to: str,
    subject: str,
    body_text: str,
    ticket_id: int,
    now: datetime,
    from_name: str = "",
    reply_domain: str | None = None,
    references: Sequence[str] = (),
    auto_reply: bool = False,
    attachments: Sequence[OutboundAttachment] = (),
) -> Composed:
    """The raw MIME of one reply on a ticket; see the module docstring."""
    subject, from_name, to = (" ".join(v.split()) for v in (subject, from_name, to))  # no CR/LF in a header
    msg = EmailMessage(policy=_POLICY)
    local, _, domain = from_addr.partition("@")
    msg["From"] = Address(display_name=from_name, username=local, domain=domain)
    msg["To"] = to
    msg["Reply-To"] = routing_address(from_addr, ticket_id, reply_domain)
    msg["Subject"] = with_token(subject, ticket_id)
    msg["Date"] = format_datetime(now)
    message_id = make_msgid(idstring=f"t{ticket_id}", domain=reply_domain or domain)
    msg["Message-ID"] = message_id
    in_reply_to, refs = thread_headers(references, reply_domain or domain)
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = " ".join(refs)
    msg["X-Helpdesk-Ticket"] = str(ticket_id)
    if auto_reply:
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"
        msg["Precedence"] = "auto_reply"
    text = body_text.replace("\r\n", "\n")
    msg.set_content(text, charset="utf-8", cte="7bit" if text.isascii() else "base64")
    for att in attachments:
        maintype, _, subtype = (att.content_type or "application/octet-stream").partition("/")
        msg.add_attachment(att.data, maintype=maintype, subtype=subtype or "octet-stream", filename=att.filename)
        msg.get_payload()[-1].set_param("name", att.filename)
    return Composed(raw=msg.as_bytes(), message_id=message_id)
