"""Slack Events API channel: ``POST /webhooks/slack`` in, ``chat.postMessage`` into the same thread out.

Setup (a Slack app): Event Subscriptions -> Request URL
``https://<api>/webhooks/slack`` (the ``url_verification`` challenge is
answered), bot events ``message.channels`` (and ``message.groups`` /
``message.im`` for private channels and DMs); OAuth scope ``chat:write`` (plus
``channels:history`` etc. for the events). Secrets (``get_secret``: environment
or SSM ``<NAME>_PARAM``): ``SLACK_SIGNING_SECRET`` (Basic Information) and
``SLACK_BOT_TOKEN`` (``xoxb-...``). ``SLACK_API_URL`` overrides the Web API base
URL (tests point it at a local receiver).

- Verification: ``X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:" + timestamp +
  ":" + body>`` (slack_sdk's ``SignatureVerifier``) and ``X-Slack-Request-Timestamp``
  within 5 minutes of our clock; otherwise 401 and nothing is stored.
- Retries (``X-Slack-Retry-Num``) carry the same ``event_id``: the dedupe key
  ``slack:<event_id>`` makes them one message.
- Threading: a message in a channel and the replies in its thread are one
  ticket, ``thread_key`` ``slack:<channel>:<thread_ts or ts>``; in a direct
  message (``channel_type: im``) outside a thread, the whole DM is one
  conversation, ``slack:<channel>``. After the ticket is solved, a message
  within ``CHAT_QUIET_WINDOW_S`` (default one day) reopens it, a later one
  starts a new ticket.
- Ignored: bot messages (``bot_id``, our own replies included), every subtype
  but ``file_share`` and ``thread_broadcast`` (``message_changed``,
  ``message_deleted``, ``channel_join``, ...), hidden messages and other events.
- The sender becomes the customer identity ``slack:<user id>``.
- Replies: ``chat.postMessage`` with ``thread_ts`` of the conversation (the
  reply target kept with the ticket's latest Slack message).
"""

from __future__ import annotations

import os
import unicodedata
from datetime import datetime
from typing import Any

from chalicelib import jsonbody
from chalicelib.domain import InboundMessage, InboundRequest, OutboundMessage, Sender, SendResult
from chalicelib.errors import Unauthorized, ValidationFailed
from chalicelib.hookspecs import SecretGetter, hookimpl
from chalicelib.lazy import LazyValidator

CHANNEL = "slack"
SIGNING_SECRET = "SLACK_SIGNING_SECRET"
BOT_TOKEN = "SLACK_BOT_TOKEN"
DEFAULT_API_URL = "https://slack.com/api/"
REPLAY_WINDOW_S = 300
DEFAULT_QUIET_WINDOW_S = 86_400
USER_SUBTYPES = (None, "file_share", "thread_broadcast")
SEND_TIMEOUT_S = 10


_S = {"type": "string", "maxLength": 10_000}
_S_OR_NULL = {"type": ["string", "null"], "maxLength": 10_000}
MESSAGE_EVENT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": _S, "subtype": _S_OR_NULL, "hidden": {"type": ["boolean", "null"]}, "bot_id": _S_OR_NULL,
        "user": _S, "channel": _S, "channel_type": _S, "text": {"type": ["string", "null"]}, "ts": _S,
        "thread_ts": _S, "team": _S,
        "user_profile": {"type": "object", "properties": {"real_name": _S_OR_NULL, "display_name": _S_OR_NULL}},
        "files": {"type": "array", "items": {"type": "object", "properties": {
            "name": _S_OR_NULL, "mimetype": _S_OR_NULL, "url_private": _S_OR_NULL,
            "size": {"type": ["integer", "null"]}}}},
    },
}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": _S, "team_id": _S, "event_id": _S, "challenge": _S,
        "authorizations": {"type": "array", "items": {"type": "object", "properties": {
            "user_id": _S_OR_NULL, "is_bot": {"type": ["boolean", "null"]}}}},
        "event": {"type": "object", "properties": {"type": _S}},
    },
    # Only message events are read: other events (user_change has an object "user") pass untouched.
    "if": {"properties": {"type": {"const": "event_callback"}}, "required": ["type"]},
    "then": {"properties": {"event": {"if": {"properties": {"type": {"const": "message"}}, "required": ["type"]},
                                      "then": MESSAGE_EVENT}}},
}
"""The parts of an Events API payload this plugin reads, type-checked (a 400 naming the pointer otherwise)."""
_validator = LazyValidator(SCHEMA)


def _at(now: datetime) -> Any:
    """slack_sdk's clock pinned to the hook's ``now`` (replay windows are checked against it).
    slack_sdk is imported here, on the first Slack delivery, not on every function's cold start."""
    from slack_sdk.signature import Clock

    class _At(Clock):
        def now(self) -> float:
            return now.timestamp()

    return _At()


@hookimpl
def helpdesk_channels() -> list[str]:
    """The Slack channel."""
    return [CHANNEL]


@hookimpl
def helpdesk_verify_inbound(
    channel: str, request: InboundRequest, get_secret: SecretGetter, now: datetime
) -> bool | None:
    """Check ``X-Slack-Signature`` (v0) and the 5-minute replay window."""
    if channel != CHANNEL:
        return None
    secret = get_secret(SIGNING_SECRET)
    if not secret:
        raise Unauthorized(f"{SIGNING_SECRET} is not configured; Slack deliveries are refused")
    timestamp = request.headers.get("x-slack-request-timestamp")
    signature = request.headers.get("x-slack-signature")
    if not timestamp or not signature:
        raise Unauthorized("missing X-Slack-Request-Timestamp or X-Slack-Signature")
    try:
        stale = abs(now.timestamp() - int(timestamp)) > REPLAY_WINDOW_S
    except ValueError as exc:
        raise Unauthorized("X-Slack-Request-Timestamp is not unix seconds") from exc
    if stale:
        raise Unauthorized(f"X-Slack-Request-Timestamp is outside the {REPLAY_WINDOW_S}s replay window")
    from slack_sdk.signature import SignatureVerifier

    try:  # the SDK decodes the body as UTF-8 and raises on anything else: any verifier failure is a 401
        valid = SignatureVerifier(secret, clock=_at(now)).is_valid(request.body, timestamp, signature)
    except Exception as exc:
        raise Unauthorized(f"X-Slack-Signature cannot be verified: {type(exc).__name__}") from exc
    if not valid:
        raise Unauthorized("invalid X-Slack-Signature")
    return True


def _decode(request: InboundRequest) -> dict[str, Any]:
    return jsonbody.loads_object(request.body)


@hookimpl
def helpdesk_inbound_response(channel: str, request: InboundRequest, now: datetime) -> dict[str, Any] | None:
    """Answer Slack's ``url_verification`` handshake with its challenge."""
    if channel != CHANNEL:
        return None
    try:
        doc = _decode(request)
    except ValidationFailed:
        return None  # parsing reports it, with the raw payload kept
    if doc.get("type") == "url_verification":
        return {"challenge": str(doc.get("challenge", ""))[:10_000]}
    return None


def _is_customer_message(doc: dict[str, Any], event: dict[str, Any]) -> bool:
    if event.get("type") != "message" or event.get("hidden") or event.get("bot_id"):
        return False
    if event.get("subtype") not in USER_SUBTYPES or not event.get("user") or not event.get("channel"):
        return False
    bots = {a.get("user_id") for a in doc.get("authorizations") or [] if a.get("is_bot")}
    return event["user"] not in bots


def _text(event: dict[str, Any]) -> str:
    text = event.get("text") or ""
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return unicodedata.normalize("NFC", text)


def _subject(text: str, fallback: str) -> str:
    line = next((s.strip() for s in text.splitlines() if s.strip()), "")
    return (line[:59] + "…" if len(line) > 60 else line) or fallback


@hookimpl
def helpdesk_parse_inbound(channel: str, request: InboundRequest, now: datetime) -> list[InboundMessage] | None:
    """The customer message of an ``event_callback`` (none for bots, edits, joins and other events)."""
    if channel != CHANNEL:
        return None
    doc = _decode(request)
    errors = list(_validator.iter_errors(doc))
    if errors:
        raise ValidationFailed.from_schema_errors(errors)
    event = doc.get("event") or {}
    if doc.get("type") != "event_callback" or not isinstance(event, dict) or not _is_customer_message(doc, event):
        return []
    chan, ts, thread_ts = event["channel"], str(event.get("ts", "")), event.get("thread_ts")
    if event.get("channel_type") == "im" and not thread_ts:
        thread_key, reply_ts = f"slack:{chan}", None
    else:
        thread_key, reply_ts = f"slack:{chan}:{thread_ts or ts}", thread_ts or ts
    profile = event.get("user_profile") or {}
    name = profile.get("real_name") or profile.get("display_name") or ""
    files = [{"name": f.get("name"), "content_type": f.get("mimetype"), "url": f.get("url_private"),
              "size": f.get("size")} for f in event.get("files") or [] if isinstance(f, dict)]
    text = _text(event)
    team = doc.get("team_id") or event.get("team")
    event_id = doc.get("event_id") or f"{chan}:{ts}"
    return [
        InboundMessage(
            channel=CHANNEL,
            dedupe_key=f"slack:{event_id}",
            sender=Sender("slack", event["user"], name=name),
            subject=_subject(text, "(file)"),
            body_text=text,
            received_at=now,
            thread_key=thread_key,
            message_ids=(f"slack:{chan}:{ts}",),
            reopen_window_s=int(os.environ.get("CHAT_QUIET_WINDOW_S", DEFAULT_QUIET_WINDOW_S)),
            metadata={"team_id": team, "channel_id": chan, "channel_type": event.get("channel_type"),
                      "thread_ts": reply_ts, "ts": ts, "user_id": event["user"], "event_id": event_id,
                      "attachments": files},
        )
    ]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@hookimpl
def helpdesk_send_message(message: OutboundMessage, get_secret: SecretGetter) -> SendResult | None:
    """Post the reply with ``chat.postMessage`` into the conversation's thread."""
    if message.channel != CHANNEL:
        return None
    token = get_secret(BOT_TOKEN)
    if not token:
        raise RuntimeError(f"{BOT_TOKEN} is not configured; Slack replies cannot be sent")
    target = message.metadata.get("reply_target") or {}
    if not target.get("channel_id"):
        raise RuntimeError(f"ticket {message.ticket_id} has no Slack conversation to reply to")
    base_url = os.environ.get("SLACK_API_URL") or DEFAULT_API_URL
    from slack_sdk import WebClient

    client = WebClient(token=token, base_url=base_url.rstrip("/") + "/", timeout=SEND_TIMEOUT_S)
    resp = client.chat_postMessage(channel=target["channel_id"], thread_ts=target.get("thread_ts"),
                                   text=_escape(message.body_text))
    channel_id = resp.get("channel") or target["channel_id"]
    return SendResult(provider_message_id=f"slack:{channel_id}:{resp.get('ts')}",
                      metadata={"thread_ts": target.get("thread_ts")})
