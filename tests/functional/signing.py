"""Sign any raw body as each channel's provider signs it, for tests that send real, verified deliveries.

Used by the hardening tests, the fuzz suite and the concurrency tests through the local stack.
Slack bodies are signed with slack_sdk's own ``SignatureVerifier.generate_signature``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterator

import pytest
from slack_sdk.signature import SignatureVerifier

SECRETS = {
    "FORM_WEBHOOK_SECRET": "fuzz-form-secret",
    "CHAT_WEBHOOK_SECRET": "fuzz-chat-secret",
    "SLACK_SIGNING_SECRET": "fuzz-slack-signing-secret",
    "LINE_CHANNEL_SECRET": "fuzz-line-channel-secret",
    "EMAIL_WEBHOOK_SECRET": "fuzz-email-secret",
}
CONTENT_TYPE = {"form": "application/json", "chat": "application/json", "slack": "application/json",
                "line": "application/json", "email": "message/rfc822"}


def slack_signature(secrets: dict[str, str], ts: str, body: bytes) -> str:
    """slack_sdk's signature of ``body``; the same recipe by hand for bodies the SDK cannot decode."""
    try:
        return SignatureVerifier(secrets["SLACK_SIGNING_SECRET"]).generate_signature(timestamp=ts, body=body)
    except UnicodeDecodeError:
        base = b"v0:" + ts.encode() + b":" + body
        return "v0=" + hmac.new(secrets["SLACK_SIGNING_SECRET"].encode(), base, hashlib.sha256).hexdigest()


def headers_for(channel: str, body: bytes, secrets: dict[str, str] | None = None,
                content_type: str | None = None, now: float | None = None) -> dict[str, str]:
    """The headers a genuine delivery of ``body`` on ``channel`` carries (valid signature, fresh timestamp)."""
    s = secrets or SECRETS
    ts = str(int(time.time() if now is None else now))
    headers = {"Content-Type": content_type or CONTENT_TYPE[channel]}
    if channel == "form":
        digest = hmac.new(s["FORM_WEBHOOK_SECRET"].encode(), body, hashlib.sha256).hexdigest()
        headers["X-Form-Signature"] = f"sha256={digest}"
    elif channel == "chat":
        digest = hmac.new(s["CHAT_WEBHOOK_SECRET"].encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        headers.update({"X-Chat-Timestamp": ts, "X-Chat-Signature": f"v1={digest}"})
    elif channel == "slack":
        headers.update({"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": slack_signature(s, ts, body)})
    elif channel == "line":
        digest = hmac.new(s["LINE_CHANNEL_SECRET"].encode(), body, hashlib.sha256).digest()
        headers["X-Line-Signature"] = base64.b64encode(digest).decode()
    elif channel == "email":
        digest = hmac.new(s["EMAIL_WEBHOOK_SECRET"].encode(), body, hashlib.sha256).hexdigest()
        headers["X-Email-Signature"] = f"sha256={digest}"
    else:
        raise ValueError(f"unknown channel {channel!r}")
    return headers


@pytest.fixture
def channel_secrets(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Every channel's webhook secret set (``SECRETS``), so ``headers_for`` deliveries verify."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    yield SECRETS
