"""Generic website chat: ``POST /webhooks/chat`` in, signed callbacks out.

Your chat widget's server posts one JSON message per delivery::

    {"type": "message",                      # optional; other types ("typing", "read", ...) are ignored
     "id": "msg-0001",                       # required: the message id, the same on every retry
     "conversation_id": "conv-42",           # required: one conversation -> one ticket
     "sender": {"id": "visitor-9",           # required: the visitor (customer identity kind "chat")
                "name": "山田 花子", "email": "hanako@example.jp"},   # optional
     "text": "クーポンが使えません",            # required unless there are attachments
     "attachments": [{"url": "https://...", "name": "photo.jpg", "content_type": "image/jpeg", "size": 12345}],
     "sent_at": "2026-01-09T07:00:00Z",      # optional: when the visitor sent it (ISO 8601)
     "subject": "...", "category": "..."}     # optional

Signing (both directions, secret ``CHAT_WEBHOOK_SECRET``): ``X-Chat-Timestamp:
<unix seconds>`` and ``X-Chat-Signature: v1=<hex HMAC-SHA256 of timestamp + "."
+ raw body>``. A timestamp more than ``REPLAY_WINDOW_S`` (5 minutes) from our
clock, a wrong signature or a missing secret answers 401 and nothing is stored.

Replies go to ``CHAT_CALLBACK_URL`` as a signed POST::

    {"type": "reply", "id": "<timeline event id>", "ticket_id": 12, "conversation_id": "conv-42",
     "to": {"id": "visitor-9"}, "text": "...", "auto_reply": false, "sent_at": "..."}

with ``X-Chat-Delivery: <id>`` (the same on a retry: dedupe on it). A 2xx
answer is success (a JSON ``{"id": ...}`` in it becomes the provider message
id); anything else raises, so the reply is marked failed.

Threading: ``thread_key`` ``chat:<conversation_id>``; after the ticket is
solved, a message within ``CHAT_QUIET_WINDOW_S`` (default one day) reopens it,
a later one starts a new ticket.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import unicodedata
from datetime import datetime
from typing import Any

from chalicelib import jsonbody
from chalicelib.domain import InboundMessage, InboundRequest, OutboundMessage, Sender, SendResult, utcnow
from chalicelib.errors import Unauthorized, ValidationFailed, schema_error
from chalicelib.hookspecs import SecretGetter, hookimpl
from chalicelib.lazy import LazyValidator, lazy_import

# urllib.request (with http.client and ssl) loads on the first call, not on every cold start
urllib_request = lazy_import("urllib.request")
urllib_error = lazy_import("urllib.error")

CHANNEL = "chat"
SECRET_NAME = "CHAT_WEBHOOK_SECRET"
CALLBACK_NAME = "CHAT_CALLBACK_URL"
TIMESTAMP_HEADER = "X-Chat-Timestamp"
SIGNATURE_HEADER = "X-Chat-Signature"
DELIVERY_HEADER = "X-Chat-Delivery"
REPLAY_WINDOW_S = 300
DEFAULT_QUIET_WINDOW_S = 86_400
MAX_TEXT_CHARS = 20_000
SEND_TIMEOUT_S = 10

_ID = {"type": "string", "pattern": r"^[\x21-\x7e]{1,200}$"}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "conversation_id", "sender"],
    "properties": {
        "type": {"type": "string"},
        "id": _ID,
        "conversation_id": _ID,
        "sender": {
            "type": "object",
            "required": ["id"],
            "properties": {
                "id": _ID,
                "name": {"type": "string", "maxLength": 200},
                "email": {"type": "string", "maxLength": 254},
            },
        },
        "text": {"type": "string", "maxLength": MAX_TEXT_CHARS},
        "attachments": {
            "type": "array",
            "maxItems": 20,
            "items": {
                "type": "object",
                "required": ["url"],
                "properties": {
                    "url": {"type": "string", "pattern": "^https?://", "maxLength": 2000},
                    "name": {"type": "string", "maxLength": 300},
                    "content_type": {"type": "string", "maxLength": 200},
                    "size": {"type": "integer", "minimum": 0},
                },
            },
        },
        "sent_at": {"type": "string", "maxLength": 40},
        "subject": {"type": "string", "maxLength": 300},
        "category": {"type": "string", "maxLength": 100},
    },
}
_validator = LazyValidator(SCHEMA)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Chat-Signature`` value: ``v1=<hex HMAC-SHA256 of timestamp + "." + body>``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def verify_signature(secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float) -> str | None:
    """Why a signed request is refused, or None when it is genuine and fresh (the receiver's recipe too)."""
    if not timestamp or not signature:
        return f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER}"
    try:
        sent = int(timestamp)
    except ValueError:
        return f"{TIMESTAMP_HEADER} is not unix seconds"
    if abs(now - sent) > REPLAY_WINDOW_S:
        return f"{TIMESTAMP_HEADER} is outside the {REPLAY_WINDOW_S}s replay window"
    if not hmac.compare_digest(signature.encode(), sign(secret, timestamp, body).encode()):
        return f"invalid {SIGNATURE_HEADER}"
    return None


@hookimpl
def helpdesk_channels() -> list[str]:
    """The generic chat channel."""
    return [CHANNEL]


@hookimpl
def helpdesk_verify_inbound(
    channel: str, request: InboundRequest, get_secret: SecretGetter, now: datetime
) -> bool | None:
    """Check the timestamped HMAC signature and the replay window."""
    if channel != CHANNEL:
        return None
    secret = get_secret(SECRET_NAME)
    if not secret:
        raise Unauthorized(f"{SECRET_NAME} is not configured; chat deliveries are refused")
    problem = verify_signature(secret, request.headers.get(TIMESTAMP_HEADER.lower()),
                               request.headers.get(SIGNATURE_HEADER.lower()), request.body, now.timestamp())
    if problem:
        raise Unauthorized(problem)
    return True


def quiet_window_s() -> int:
    """Seconds after a ticket is solved during which the conversation reopens it (``CHAT_QUIET_WINDOW_S``)."""
    return int(os.environ.get("CHAT_QUIET_WINDOW_S", DEFAULT_QUIET_WINDOW_S))


def subject_from(text: str, fallback: str) -> str:
    """A ticket subject from a chat message: its first non-empty line, at most 60 characters."""
    line = next((s.strip() for s in text.splitlines() if s.strip()), "")
    return (line[:59] + "…" if len(line) > 60 else line) or fallback


def _decode(request: InboundRequest) -> dict[str, Any]:
    return jsonbody.loads_object(request.body)


@hookimpl
def helpdesk_parse_inbound(channel: str, request: InboundRequest, now: datetime) -> list[InboundMessage] | None:
    """The one visitor message of a delivery (none for non-message types)."""
    if channel != CHANNEL:
        return None
    doc = _decode(request)
    if doc.get("type", "message") != "message":
        return []
    errors = list(_validator.iter_errors(doc))
    if errors:
        raise ValidationFailed.from_schema_errors(errors)
    text = unicodedata.normalize("NFC", doc.get("text") or "").replace("\r\n", "\n")
    attachments = doc.get("attachments") or []
    if not text.strip() and not attachments:
        raise ValidationFailed([schema_error(["text"], "a message needs text or attachments")])
    sender = doc["sender"]
    conversation = doc["conversation_id"]
    return [
        InboundMessage(
            channel=CHANNEL,
            dedupe_key=f"chat:{conversation}:{doc['id']}",
            sender=Sender("chat", sender["id"], name=(sender.get("name") or "").strip(),
                          email=(sender.get("email") or "").strip()),
            subject=(doc.get("subject") or "").strip() or subject_from(text, "(attachment)"),
            body_text=text,
            received_at=now,
            category=(doc.get("category") or "").strip() or None,
            thread_key=f"chat:{conversation}",
            message_ids=(f"chat:{conversation}:{doc['id']}",),
            reopen_window_s=quiet_window_s(),
            metadata={"conversation_id": conversation, "sender_id": sender["id"], "message_id": doc["id"],
                      "sent_at": doc.get("sent_at"), "attachments": attachments},
        )
    ]


@hookimpl
def helpdesk_send_message(message: OutboundMessage, get_secret: SecretGetter) -> SendResult | None:
    """POST the reply, signed, to ``CHAT_CALLBACK_URL`` for the ticket's conversation."""
    if message.channel != CHANNEL:
        return None
    url, secret = get_secret(CALLBACK_NAME), get_secret(SECRET_NAME)
    if not url or not secret:
        raise RuntimeError(f"{CALLBACK_NAME} and {SECRET_NAME} must be configured to send chat replies")
    target = message.metadata.get("reply_target") or {}
    conversation = target.get("conversation_id")
    if not conversation:
        raise RuntimeError(f"ticket {message.ticket_id} has no chat conversation to reply to")
    delivery_id = str(message.metadata.get("event_id") or f"{message.ticket_id}-{time.time_ns()}")
    body = json.dumps({
        "type": "reply", "id": delivery_id, "ticket_id": message.ticket_id, "conversation_id": conversation,
        "to": {"id": target.get("sender_id")}, "text": message.body_text,
        "auto_reply": bool(message.metadata.get("auto_reply")),
        "sent_at": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
    }, ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    request = urllib_request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body), DELIVERY_HEADER: delivery_id,
    })
    try:
        with urllib_request.urlopen(request, timeout=SEND_TIMEOUT_S) as resp:
            answer = resp.read()
    except urllib_error.HTTPError as exc:
        raise RuntimeError(f"chat callback answered {exc.code}: {exc.read()[:200]!r}") from exc
    try:
        provider_id = str(json.loads(answer or b"{}").get("id") or "")
    except (ValueError, AttributeError):
        provider_id = ""
    return SendResult(provider_message_id=f"chat:{conversation}:{provider_id or delivery_id}")
