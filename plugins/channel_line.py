"""LINE Messaging API channel: ``POST /webhooks/line`` in, the push API out.

Setup (LINE Developers console, Messaging API channel): Webhook URL
``https://<api>/webhooks/line``, "Use webhook" on, "Webhook redelivery" on if
you like (redeliveries are deduplicated). Secrets (``get_secret``: environment
or SSM ``<NAME>_PARAM``): ``LINE_CHANNEL_SECRET`` (Basic settings) and
``LINE_CHANNEL_ACCESS_TOKEN`` (a long-lived channel access token).
``LINE_API_URL`` overrides the API base (tests point it at a local receiver).

- Verification: ``X-Line-Signature`` is the base64 HMAC-SHA256 of the raw body
  with the channel secret (what line-bot-sdk's ``SignatureValidator`` checks;
  LINE sends no timestamp, so there is no replay window). Otherwise 401 and
  nothing is stored. The console's "Verify" button sends no events: answered 200.
- Each message event's ``webhookEventId`` is its dedupe key ``line:<id>``:
  redeliveries (``deliveryContext.isRedelivery``) add nothing.
- Threading: one conversation per user, ``thread_key`` ``line:<userId>`` (per
  group or room, ``line:<groupId|roomId>``, when the account is in one). After
  the ticket is solved, a message within ``CHAT_QUIET_WINDOW_S`` (default one
  day) reopens it, a later one starts a new ticket.
- Text, sticker, image, video, audio, file and location messages are recorded
  (non-text ones as a bracketed label, the content id kept under
  ``attachments``); follow, unfollow, postback and other events, and events in
  ``standby`` mode (another module owns the chat), are ignored.
- The sender becomes the customer identity ``line:<userId>``.
- Replies use the push API (reply tokens expire within a minute, agents take
  longer), with ``X-Line-Retry-Key`` derived from the reply's event id so a
  retried send is not delivered twice.

The runtime uses only the standard library (the official SDK would add
pydantic, aiohttp and about 1.7 s of import time to every cold start); the
tests sign and parse their deliveries with line-bot-sdk to prove compatibility.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import unicodedata
from datetime import datetime
from typing import Any

from chalicelib import jsonbody
from chalicelib.domain import InboundMessage, InboundRequest, OutboundMessage, Sender, SendResult
from chalicelib.errors import Unauthorized, ValidationFailed, schema_error
from chalicelib.hookspecs import SecretGetter, hookimpl
from chalicelib.lazy import LazyValidator, lazy_import

# urllib.request (with http.client and ssl) loads on the first call, not on every cold start
urllib_request = lazy_import("urllib.request")
urllib_error = lazy_import("urllib.error")
uuid = lazy_import("uuid")  # the retry key of a push; not loaded at ``import app``

CHANNEL = "line"
SECRET_NAME = "LINE_CHANNEL_SECRET"
TOKEN_NAME = "LINE_CHANNEL_ACCESS_TOKEN"
DEFAULT_API_URL = "https://api.line.me"
DEFAULT_QUIET_WINDOW_S = 86_400
MAX_TEXT_CHARS = 5_000
MAX_MESSAGES = 5
SEND_TIMEOUT_S = 10


_S = {"type": "string", "maxLength": 10_000}
_S_OR_NULL = {"type": ["string", "null"], "maxLength": 10_000}
MESSAGE: dict[str, Any] = {
    "type": "object", "required": ["type"],
    "properties": {
        "type": _S, "id": _S, "text": {"type": "string"}, "packageId": _S, "stickerId": _S, "fileName": _S,
        "fileSize": {"type": "integer"}, "title": _S_OR_NULL, "address": _S_OR_NULL,
        "latitude": {"type": "number"}, "longitude": {"type": "number"},
        "contentProvider": {"type": "object", "properties": {"type": _S}},
    },
}
EVENT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": _S, "mode": _S, "webhookEventId": _S, "timestamp": {"type": "integer"},
        "source": {"type": "object", "properties": {"type": _S, "userId": _S, "groupId": _S, "roomId": _S}},
        "deliveryContext": {"type": "object", "properties": {"isRedelivery": {"type": "boolean"}}},
    },
    "if": {"properties": {"type": {"const": "message"}}, "required": ["type"]},
    "then": {"required": ["source", "message"], "properties": {"message": MESSAGE}},
}
SCHEMA: dict[str, Any] = {"type": "object", "required": ["events"],
                          "properties": {"destination": _S, "events": {"type": "array", "items": EVENT}}}
"""The webhook body as far as this plugin reads it, type-checked (a 400 naming the pointer otherwise)."""
_validator = LazyValidator(SCHEMA)


def signature(secret: str, body: bytes) -> str:
    """The ``X-Line-Signature`` value for ``body``: base64 HMAC-SHA256 with the channel secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@hookimpl
def helpdesk_channels() -> list[str]:
    """The LINE channel."""
    return [CHANNEL]


@hookimpl
def helpdesk_verify_inbound(
    channel: str, request: InboundRequest, get_secret: SecretGetter, now: datetime
) -> bool | None:
    """Check ``X-Line-Signature`` against the channel secret."""
    if channel != CHANNEL:
        return None
    secret = get_secret(SECRET_NAME)
    if not secret:
        raise Unauthorized(f"{SECRET_NAME} is not configured; LINE deliveries are refused")
    given = request.headers.get("x-line-signature", "")
    if not given or not hmac.compare_digest(given.encode(), signature(secret, request.body).encode()):
        raise Unauthorized("missing or invalid X-Line-Signature")
    return True


def _content(message: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    kind = message.get("type")
    if kind == "text":
        return unicodedata.normalize("NFC", message.get("text") or ""), []
    if kind == "sticker":
        return f"[sticker {message.get('packageId')}/{message.get('stickerId')}]", []
    if kind == "location":
        where = " ".join(str(message.get(k) or "") for k in ("title", "address")).strip()
        return f"[location] {where} ({message.get('latitude')}, {message.get('longitude')})".replace("  ", " "), []
    label = f"[{kind}]" + (f" {message['fileName']}" if message.get("fileName") else "")
    provider = (message.get("contentProvider") or {}).get("type")
    return label, [{"type": kind, "message_id": message.get("id"), "name": message.get("fileName"),
                    "size": message.get("fileSize"), "content_provider": provider}]


def _message(event: dict[str, Any], now: datetime) -> InboundMessage | None:
    source = event.get("source") or {}
    message = event.get("message") or {}
    user = source.get("userId")
    if event.get("type") != "message" or event.get("mode", "active") != "active" or not user:
        return None
    to = source.get("groupId") or source.get("roomId") or user
    text, attachments = _content(message)
    event_id = event.get("webhookEventId") or f"msg:{message.get('id')}"
    line = next((s.strip() for s in text.splitlines() if s.strip()), "")
    return InboundMessage(
        channel=CHANNEL,
        dedupe_key=f"line:{event_id}",
        sender=Sender("line", user),
        subject=(line[:59] + "…" if len(line) > 60 else line) or "LINE",
        body_text=text,
        received_at=now,
        thread_key=f"line:{to}",
        message_ids=(f"line:{message.get('id')}",) if message.get("id") else (),
        reopen_window_s=int(os.environ.get("CHAT_QUIET_WINDOW_S", DEFAULT_QUIET_WINDOW_S)),
        metadata={"to": to, "user_id": user, "source_type": source.get("type"), "message_id": message.get("id"),
                  "webhook_event_id": event.get("webhookEventId"), "sent_at_ms": event.get("timestamp"),
                  "redelivery": bool((event.get("deliveryContext") or {}).get("isRedelivery")),
                  "attachments": attachments},
    )


@hookimpl
def helpdesk_parse_inbound(channel: str, request: InboundRequest, now: datetime) -> list[InboundMessage] | None:
    """One message per user message event in the delivery."""
    if channel != CHANNEL:
        return None
    doc = jsonbody.loads(request.body)
    if not isinstance(doc, dict) or not isinstance(doc.get("events"), list):
        raise ValidationFailed([schema_error(["events"], "a LINE webhook body has an events array")])
    errors = list(_validator.iter_errors(doc))
    if errors:
        raise ValidationFailed.from_schema_errors(errors)
    messages = [_message(e, now) for e in doc["events"] if isinstance(e, dict)]
    return [m for m in messages if m is not None]


def _chunks(text: str) -> list[str]:
    parts = [text[i:i + MAX_TEXT_CHARS] for i in range(0, len(text), MAX_TEXT_CHARS)] or [""]
    if len(parts) > MAX_MESSAGES:
        raise ValueError(f"a LINE push takes at most {MAX_MESSAGES * MAX_TEXT_CHARS} characters")
    return parts


@hookimpl
def helpdesk_send_message(message: OutboundMessage, get_secret: SecretGetter) -> SendResult | None:
    """Push the reply to the conversation's user (or group) with the Messaging API."""
    if message.channel != CHANNEL:
        return None
    token = get_secret(TOKEN_NAME)
    if not token:
        raise RuntimeError(f"{TOKEN_NAME} is not configured; LINE replies cannot be sent")
    to = (message.metadata.get("reply_target") or {}).get("to")
    if not to:
        raise RuntimeError(f"ticket {message.ticket_id} has no LINE user to push to")
    body = json.dumps({"to": to, "messages": [{"type": "text", "text": t} for t in _chunks(message.body_text)]},
                      ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    if message.metadata.get("event_id"):
        key = uuid.uuid5(uuid.NAMESPACE_URL, f"helpdesk:line:{message.ticket_id}:{message.metadata['event_id']}")
        headers["X-Line-Retry-Key"] = str(key)
    url = (os.environ.get("LINE_API_URL") or DEFAULT_API_URL).rstrip("/") + "/v2/bot/message/push"
    request = urllib_request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib_request.urlopen(request, timeout=SEND_TIMEOUT_S) as resp:
            answer, request_id = resp.read(), resp.headers.get("x-line-request-id", "")
    except urllib_error.HTTPError as exc:
        if exc.code != 409 or "X-Line-Retry-Key" not in headers:  # 409: this retry key was already accepted
            raise RuntimeError(f"LINE push answered {exc.code}: {exc.read()[:300]!r}") from exc
        answer, request_id = exc.read(), exc.headers.get("x-line-accepted-request-id", "")
    try:
        sent = [m.get("id") for m in json.loads(answer or b"{}").get("sentMessages") or []]
    except (ValueError, AttributeError):
        sent = []
    ids = [f"line:{i}" for i in sent if i]
    return SendResult(provider_message_id=ids[0] if ids else f"line:request:{request_id}",
                      metadata={"message_ids": ids[1:], "to": to})
