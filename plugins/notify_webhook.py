"""Notification target ``webhook``: a signed JSON POST to an endpoint of yours.

- Recipient: an ``https://`` URL in the rule (``"to": {"address": "https://..."}``),
  or an endpoint name whose URL is the secret ``NOTIFY_WEBHOOK_URL_<NAME>``
  (``default``, what roles resolve to, is ``NOTIFY_WEBHOOK_URL``).
- Signing secret: ``NOTIFY_WEBHOOK_SECRET_<NAME>``, else ``NOTIFY_WEBHOOK_SECRET``
  (through ``get_secret``: environment, or SSM with ``<NAME>_PARAM``). Without
  one nothing is sent (a permanent failure): receivers must be able to verify.
- Headers: ``X-Helpdesk-Signature: t=<unix seconds>,v1=<hex>`` where ``<hex>``
  is HMAC-SHA256 with the secret over ``"<t>." + raw body``;
  ``X-Helpdesk-Delivery: <outbox id>`` (the same on every retry: dedupe on it).
- Body: ``{"type": "helpdesk.notification", "id", "dedupe_key", "attempt",
  "ticket_id", "rule_id", "recipient", "subject", "body", "lang", "link",
  "person", "ticket", "deadline"}``.
- Outcome: 2xx delivered; 408, 429, 5xx and network errors raise (retried
  with backoff); other 4xx are permanent failures.

Receivers verify: parse the header, recompute the HMAC over ``t + "." + raw
body`` with the shared secret, compare in constant time, and reject a ``t``
more than five minutes from their clock (see ``verify``; the README has the
same recipe using only ``hmac`` and ``hashlib``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import time
from typing import Any

from chalicelib.domain import DeliveryResult, Notification
from chalicelib.hookspecs import SecretGetter, hookimpl
from chalicelib.lazy import lazy_import

# urllib.request (with http.client and ssl) loads on the first call, not on every cold start
urllib_request = lazy_import("urllib.request")
urllib_error = lazy_import("urllib.error")

TARGET = "webhook"
SIGNATURE_HEADER = "X-Helpdesk-Signature"
DELIVERY_HEADER = "X-Helpdesk-Delivery"
TOLERANCE_S = 300
RETRY_STATUSES = (408, 429)


class WebhookUnavailable(RuntimeError):
    """The endpoint answered with a status worth retrying (408, 429 or 5xx)."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``"<timestamp>." + body`` with ``secret``."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Helpdesk-Signature`` value: ``t=<timestamp>,v1=<hex>``."""
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, now: float, tolerance_s: int = TOLERANCE_S) -> bool:
    """A receiver's check: the signature matches and the timestamp is within ``tolerance_s`` of ``now``."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    fresh = abs(now - timestamp) <= tolerance_s
    return fresh and hmac.compare_digest(signature(secret, timestamp, body), parts.get("v1", ""))


def _suffix(name: str) -> str:
    suffix = re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")
    return "" if suffix in ("", "DEFAULT") else f"_{suffix}"


def endpoint(recipient: str, get_secret: SecretGetter) -> tuple[str | None, str | None]:
    """(URL, signing secret) for a recipient: a URL as is, or a named endpoint's secrets."""
    if recipient.startswith(("https://", "http://")):
        return recipient, get_secret("NOTIFY_WEBHOOK_SECRET")
    suffix = _suffix(recipient or "default")
    url = get_secret(f"NOTIFY_WEBHOOK_URL{suffix}")
    return url, get_secret(f"NOTIFY_WEBHOOK_SECRET{suffix}") or get_secret("NOTIFY_WEBHOOK_SECRET")


def payload(notification: Notification) -> dict[str, Any]:
    """The JSON body sent for a notification."""
    meta = notification.metadata
    return {"type": "helpdesk.notification", "id": meta.get("outbox_id"), "dedupe_key": notification.dedupe_key,
            "attempt": meta.get("attempt"), "ticket_id": notification.ticket_id, "rule_id": meta.get("rule_id"),
            "recipient": notification.recipient, "subject": notification.subject, "body": notification.body_text,
            "lang": meta.get("lang"), "link": meta.get("link"), "person": meta.get("person"),
            "ticket": meta.get("ticket"), "deadline": meta.get("deadline")}


def post(url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> tuple[int, str]:
    """POST the body; returns (status, text) for any HTTP answer, raises on network errors."""
    request = urllib_request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib_request.urlopen(request, timeout=timeout_s) as resp:
            return resp.status, resp.read(2000).decode("utf-8", "replace")
    except urllib_error.HTTPError as err:
        return err.code, err.read(2000).decode("utf-8", "replace")


@hookimpl
def helpdesk_notification_targets() -> list[str]:
    """The webhook target."""
    return [TARGET]


@hookimpl
def helpdesk_notify(notification: Notification, get_secret: SecretGetter) -> DeliveryResult | None:
    """POST the notification as signed JSON."""
    if notification.target != TARGET:
        return None
    url, secret = endpoint(notification.recipient, get_secret)
    if not url or not secret:
        missing = "URL" if not url else "signing secret"
        return DeliveryResult(delivered=False, detail=f"webhook {notification.recipient!r}: no {missing} configured")
    body = json.dumps(payload(notification), ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "helpdesk-notify/1",
               SIGNATURE_HEADER: signature_header(secret, int(time.time()), body),
               DELIVERY_HEADER: str(notification.metadata.get("outbox_id") or notification.dedupe_key)}
    status, text = post(url, body, headers, float(os.environ.get("NOTIFY_HTTP_TIMEOUT_S") or 5))
    if 200 <= status < 300:
        return DeliveryResult(delivered=True, detail=f"webhook: {status}")
    if status >= 500 or status in RETRY_STATUSES:
        raise WebhookUnavailable(f"webhook answered {status}: {text[:200]}")
    return DeliveryResult(delivered=False, detail=f"webhook refused: {status} {text[:200]}")
