"""Notification target ``email``: plain-text mail through Amazon SES.

The sender address comes from ``NOTIFY_EMAIL_FROM`` (a verified SES identity).
SES errors propagate so the dispatcher retries; success reports the SES message id.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from chalicelib.domain import DeliveryResult, Notification
from chalicelib.hookspecs import SecretGetter, hookimpl

TARGET = "email"
_lock = threading.Lock()
_clients: dict[str, Any] = {}


def _ses() -> Any:
    import boto3

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "ap-northeast-1"
    with _lock:
        if region not in _clients:
            _clients[region] = boto3.session.Session().client("ses", region_name=region)
        return _clients[region]


@hookimpl
def helpdesk_notification_targets() -> list[str]:
    """The email target."""
    return [TARGET]


@hookimpl
def helpdesk_notify(notification: Notification, get_secret: SecretGetter) -> DeliveryResult | None:
    """Send the notification as a UTF-8 plain-text email."""
    if notification.target != TARGET:
        return None
    sender = os.environ.get("NOTIFY_EMAIL_FROM", "helpdesk@example.com")
    resp = _ses().send_email(
        Source=sender,
        Destination={"ToAddresses": [notification.recipient]},
        Message={
            "Subject": {"Data": notification.subject, "Charset": "UTF-8"},
            "Body": {"Text": {"Data": notification.body_text, "Charset": "UTF-8"}},
        },
    )
    return DeliveryResult(delivered=True, detail=resp["MessageId"])


def reset_clients() -> None:
    """Forget cached clients (tests switch endpoints)."""
    _clients.clear()
