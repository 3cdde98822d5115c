"""Email channel: inbound raw RFC 822 mail, outbound replies through Amazon SES.

Inbound arrives two ways, both parsed here: the SES receipt rule stores the
raw message in S3 and ``chalicelib.mail_jobs`` hands it over, or another
provider posts it to ``POST /webhooks/email`` (``message/rfc822`` or
``application/octet-stream``) with the shared secret ``EMAIL_WEBHOOK_SECRET``
as ``X-Email-Secret: <secret>`` or ``X-Email-Signature: sha256=<hex HMAC-SHA256
of the body>``.

Outbound: replies on ``email`` and ``form`` tickets (form customers are
answered by mail) go out with ``SendRawEmail`` from ``EMAIL_FROM`` (a verified
SES identity, e.g. ``サポート <support@example.com>``), Reply-To
``support+<ticket>@EMAIL_REPLY_DOMAIN`` and the configuration set
``EMAIL_CONFIGURATION_SET`` (for bounce/complaint events) when set. Without
``EMAIL_FROM`` this plugin sends nothing (returns None). A reply's attachments
(``message.attachments``) go in the same raw message (``multipart/mixed``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib import aws  # the one boto3 Session per container
from chalicelib.domain import InboundMessage, InboundRequest, OutboundMessage, Sender, SendResult, utcnow
from chalicelib.errors import Unauthorized, ValidationFailed, schema_error
from chalicelib.hookspecs import SecretGetter, hookimpl
from chalicelib.lazy import lazy_import

if TYPE_CHECKING:
    from chalicelib.mail.parse import ParsedMail

# The mail stack (parsing, classification with flufl.bounce, quote splitting, composing) loads on the
# first mail, not on every cold start of every function (issue 15: ~120 ms of `import app`).
carriers = lazy_import("chalicelib.mail.carriers")
classify_mod = lazy_import("chalicelib.mail.classify")
compose = lazy_import("chalicelib.mail.compose")
parse = lazy_import("chalicelib.mail.parse")
quotes = lazy_import("chalicelib.mail.quotes")
refs = lazy_import("chalicelib.mail.refs")
senders = lazy_import("chalicelib.mail.senders")
email_utils = lazy_import("email.utils")

CHANNEL = "email"
REPLY_CHANNELS = ("email", "form")
SECRET_NAME = "EMAIL_WEBHOOK_SECRET"
MAX_BODY_CHARS = 40_000
MAX_QUOTED_CHARS = 8_000
MAX_SIGNATURE_CHARS = 2_000
MAX_REFERENCES = 20
_REPLY_PREFIX = re.compile(r"^\s*(re|fw|fwd|aw|sv|返信|転送)\s*(\[\d+\])?\s*[:：>]", re.I)
log = logging.getLogger(__name__)
_lock = threading.Lock()
_clients: dict[str, Any] = {}


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "ap-northeast-1"


def _ses() -> Any:
    region = _region()
    with _lock:
        if region not in _clients:
            _clients[region] = aws.client("ses", region)
        return _clients[region]


def reset_clients() -> None:
    """Forget cached clients (tests switch endpoints)."""
    _clients.clear()
    aws.reset("ses")


@hookimpl
def helpdesk_channels() -> list[str]:
    """The email channel."""
    return [CHANNEL]


@hookimpl
def helpdesk_verify_inbound(
    channel: str, request: InboundRequest, get_secret: SecretGetter, now: datetime
) -> bool | None:
    """Check the shared secret or the body HMAC of a posted raw message."""
    if channel != CHANNEL:
        return None
    secret = get_secret(SECRET_NAME)
    if not secret:
        raise Unauthorized(f"{SECRET_NAME} is not configured; email deliveries are refused")
    given = request.headers.get("x-email-secret")
    if given is not None and hmac.compare_digest(given.encode(), secret.encode()):
        return True
    signature = request.headers.get("x-email-signature", "")
    if signature.startswith("sha256="):
        expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
        if hmac.compare_digest(signature[7:].encode(), expected.encode()):
            return True
    raise Unauthorized("missing or invalid X-Email-Secret / X-Email-Signature")


def _dedupe_key(mail: ParsedMail, raw: bytes) -> str:
    if mail.message_id:  # the same id with other content (it happens) is another message
        content = "\x1f".join([mail.from_addr, mail.subject, mail.text])
        return f"email:{mail.message_id}:{hashlib.sha256(content.encode()).hexdigest()[:16]}"
    return f"email:sha256:{hashlib.sha256(raw).hexdigest()}"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "\n[…]"


def to_inbound(raw: bytes, now: datetime) -> InboundMessage:
    """The one message a raw mail makes (``metadata["automatic"]`` set for bounces and auto-replies)."""
    mail = parse.parse_mail(raw)
    classify_warnings: list[str] = []
    kind = classify_mod.classify(mail, classify_warnings)
    parts = quotes.split_reply(mail.text)
    dedupe_key = _dedupe_key(mail, raw)
    if mail.from_addr:
        sender = Sender("email", mail.from_addr, name=mail.from_name, email=mail.from_addr)
    else:  # no usable address: a customer of its own, never threaded by subject
        sender = Sender("email-unknown", dedupe_key, name=mail.from_name or "(unknown sender)")
    carrier = carriers.carrier_of(mail.from_addr)
    reply_domain = os.environ.get("EMAIL_REPLY_DOMAIN")
    recipients = [*mail.to, *mail.cc, *(a for a in [mail.header("delivered-to")] if a)]
    hint = refs.subject_token(mail.subject) or refs.routed_ticket(recipients, reply_domain)
    body = parts.new_text or mail.text
    email_meta: dict[str, Any] = {
        "message_id": mail.message_id,
        "in_reply_to": list(mail.in_reply_to),
        "references": list(mail.references[-MAX_REFERENCES:]),
        "to": list(mail.to), "cc": list(mail.cc),
        "date": mail.date.isoformat() if mail.date else None,
        "headers": mail.headers,
        "attachments": [a.to_dict() for a in mail.attachments],
        "quoted": _cut(parts.quoted, MAX_QUOTED_CHARS),
        "signature": _cut(parts.signature, MAX_SIGNATURE_CHARS),
        "notice": _cut(parts.notice, MAX_SIGNATURE_CHARS),
        "html_only": mail.text_from_html,
        "carrier": carrier,
        "warnings": [*mail.warnings, *classify_warnings],
        "truncated": len(body) > MAX_BODY_CHARS,
    }
    metadata: dict[str, Any] = {"email": email_meta}
    own = email_utils.parseaddr(os.environ.get("EMAIL_FROM", ""))[1].lower()
    if own and mail.from_addr == own and not kind.automatic:  # our own mail came back: never answer ourselves
        metadata["automatic"] = {"kind": "own_mail", "rule": "own-address", "reason": f"sent from our address {own}",
                                 "original_message_ids": list(mail.references), "recipients": []}
    elif kind.automatic:
        metadata["automatic"] = kind.to_dict()
    return InboundMessage(
        channel=CHANNEL,
        dedupe_key=dedupe_key,
        sender=sender,
        subject=mail.subject,
        body_text=_cut(body, MAX_BODY_CHARS),
        received_at=now,
        references=refs.expand_references([*mail.references, *mail.in_reply_to]),
        ticket_hint=hint,
        match_subject=bool(mail.from_addr) and (bool(carrier) or bool(_REPLY_PREFIX.match(mail.subject))),
        message_ids=(mail.message_id,) if mail.message_id else (),
        metadata=metadata,
    )


@hookimpl
def helpdesk_parse_inbound(channel: str, request: InboundRequest, now: datetime) -> list[InboundMessage] | None:
    """Parse the raw message; malformed mail still becomes a message (with ``warnings``)."""
    if channel != CHANNEL:
        return None
    if not request.body.strip():
        raise ValidationFailed([schema_error([], "empty body: expected a raw RFC 822 message")])
    return [to_inbound(request.body, now)]


@hookimpl
def helpdesk_send_message(message: OutboundMessage, get_secret: SecretGetter) -> SendResult | None:
    """Send a reply on an email or form ticket through SES; the result carries every id a reply may quote."""
    if message.channel not in REPLY_CHANNELS:
        return None
    configured = os.environ.get("EMAIL_FROM", "").strip()
    if not configured:
        log.warning("EMAIL_FROM is not set: not sending the reply on ticket %s by email", message.ticket_id)
        return None
    if not message.to or "@" not in message.to:
        raise ValueError(f"ticket {message.ticket_id}: no email address to send to ({message.to!r})")
    machine = senders.machine_reason(message.to)
    if machine and message.metadata.get("auto_reply"):  # last line of the outbound guard (services.outbound)
        raise ValueError(f"ticket {message.ticket_id}: no automatic mail to {message.to}: {machine}")
    name, address = email_utils.parseaddr(configured)
    composed = compose.build_reply(
        from_addr=address, from_name=name, to=message.to, subject=message.subject, body_text=message.body_text,
        ticket_id=message.ticket_id, now=utcnow(),
        reply_domain=os.environ.get("EMAIL_REPLY_DOMAIN") or None,
        references=[str(r) for r in message.metadata.get("references") or []],
        auto_reply=bool(message.metadata.get("auto_reply")),
        attachments=message.attachments,
    )
    kwargs: dict[str, Any] = {"Source": address, "Destinations": [message.to], "RawMessage": {"Data": composed.raw}}
    if os.environ.get("EMAIL_CONFIGURATION_SET"):
        kwargs["ConfigurationSetName"] = os.environ["EMAIL_CONFIGURATION_SET"]
    ses_id = _ses().send_raw_email(**kwargs)["MessageId"]
    ids = [composed.message_id, *refs.ses_message_ids(ses_id, _region(), os.environ.get("SES_MESSAGE_ID_DOMAIN"))]
    return SendResult(provider_message_id=ses_id,
                      metadata={"message_ids": ids, "message_id": composed.message_id, "ses_message_id": ses_id})
