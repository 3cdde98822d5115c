"""Notification target ``sms``: a text message through Amazon SNS.

- Recipient: an E.164 phone number (``+819012345678``): the agent's ``phone``,
  a directory person's ``phone``, or a fixed ``{"address": "+81..."}``.
- Text: the body when it fits ``NOTIFY_SMS_MAX_CHARS`` (300), else the
  subject and the ticket link. A per-target template ``<template>.sms.json``
  writes a short body on purpose. Sent as ``Transactional``, with the sender
  id ``NOTIFY_SMS_SENDER_ID`` where the country allows one.
- Outcome: the SNS message id. A number that is not E.164 or that SNS refuses
  (``InvalidParameter``, opted out) is a permanent failure; throttling and
  other errors propagate so the dispatcher retries with backoff.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any

from chalicelib import aws  # the one boto3 Session per container
from chalicelib.domain import DeliveryResult, Notification
from chalicelib.hookspecs import SecretGetter, hookimpl

TARGET = "sms"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
DEFAULT_MAX_CHARS = 300
PERMANENT_ERRORS = ("InvalidParameter", "InvalidParameterValue", "OptedOut", "AuthorizationError")
_lock = threading.Lock()
_clients: dict[str, Any] = {}


def _sns() -> Any:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "ap-northeast-1"
    with _lock:
        if region not in _clients:
            _clients[region] = aws.client("sns", region)
        return _clients[region]


def sms_text(notification: Notification, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """The body if it fits, else the subject and link, cut to ``max_chars``."""
    body = notification.body_text.strip()
    if body and len(body) <= max_chars:
        return body
    short = "\n".join(p for p in (notification.subject, str(notification.metadata.get("link") or "")) if p)
    return short if len(short) <= max_chars else short[: max_chars - 1] + "…"


def publish_request(notification: Notification) -> dict[str, Any]:
    """The SNS ``Publish`` parameters for a notification."""
    attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
    sender_id = os.environ.get("NOTIFY_SMS_SENDER_ID")
    if sender_id:
        attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": sender_id}
    max_chars = int(os.environ.get("NOTIFY_SMS_MAX_CHARS") or DEFAULT_MAX_CHARS)
    return {"PhoneNumber": notification.recipient, "Message": sms_text(notification, max_chars),
            "MessageAttributes": attributes}


@hookimpl
def helpdesk_notification_targets() -> list[str]:
    """The sms target."""
    return [TARGET]


@hookimpl
def helpdesk_notify(notification: Notification, get_secret: SecretGetter) -> DeliveryResult | None:
    """Send the notification as an SMS."""
    if notification.target != TARGET:
        return None
    if not E164.match(notification.recipient or ""):
        return DeliveryResult(delivered=False, detail=f"not an E.164 phone number: {notification.recipient!r}")
    from botocore.exceptions import ClientError

    try:
        resp = _sns().publish(**publish_request(notification))
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in PERMANENT_ERRORS:
            return DeliveryResult(delivered=False, detail=f"SNS {code}: {exc.response['Error'].get('Message', '')}")
        raise
    return DeliveryResult(delivered=True, detail=f"sns:{resp['MessageId']}")


def reset_clients() -> None:
    """Forget cached clients (tests switch endpoints)."""
    _clients.clear()
    aws.reset("sns")
