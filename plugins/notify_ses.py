"""Notification target ``email``: plain-text UTF-8 mail through Amazon SES.

- Sender: ``NOTIFY_EMAIL_FROM`` (an SES-verified identity; ``make run``
  verifies it in the local moto SES), optionally with a display name from
  ``NOTIFY_EMAIL_FROM_NAME``.
- Recipient: ``notification.recipient``, an email address (the role's person
  resolved for the ``email`` target, or a fixed ``{"address": ...}``).
- Reply-To: ``metadata["reply_to"]`` when the notification has one (an
  escalation contact answers by replying, and the answer joins the ticket).
- Outcome: the SES message id when accepted. SES refusing the message for
  good (``MessageRejected``: unverified sender or recipient in the SES
  sandbox, a bad address) is a permanent failure (``delivered=False``, no
  retries: fix the setup and redrive); throttling and other errors propagate
  so the dispatcher retries with backoff.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from chalicelib import aws  # the one boto3 Session per container
from chalicelib.domain import DeliveryResult, Notification
from chalicelib.hookspecs import SecretGetter, hookimpl
from chalicelib.lazy import lazy_import

# the address helpers load on the first notification, not at ``import app``
email_utils = lazy_import("email.utils")
headerregistry = lazy_import("email.headerregistry")

TARGET = "email"
DEFAULT_FROM = "helpdesk@example.com"
PERMANENT_ERRORS = ("MessageRejected", "MailFromDomainNotVerifiedException", "InvalidParameterValue",
                    "ConfigurationSetDoesNotExistException")
_lock = threading.Lock()
_clients: dict[str, Any] = {}


def _ses() -> Any:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "ap-northeast-1"
    with _lock:
        if region not in _clients:
            _clients[region] = aws.client("ses", region)
        return _clients[region]


def sender() -> str:
    """The From header: ``NOTIFY_EMAIL_FROM`` with the optional ``NOTIFY_EMAIL_FROM_NAME``."""
    address = os.environ.get("NOTIFY_EMAIL_FROM") or DEFAULT_FROM
    name = os.environ.get("NOTIFY_EMAIL_FROM_NAME")
    if not name:
        return address
    local, _, domain = address.partition("@")
    return str(headerregistry.Address(display_name=name, username=local, domain=domain))


def email_request(notification: Notification) -> dict[str, Any]:
    """The SES ``SendEmail`` parameters for a notification."""
    request: dict[str, Any] = {
        "Source": sender(),
        "Destination": {"ToAddresses": [notification.recipient]},
        "Message": {
            "Subject": {"Data": notification.subject, "Charset": "UTF-8"},
            "Body": {"Text": {"Data": notification.body_text, "Charset": "UTF-8"}},
        },
    }
    reply_to = notification.metadata.get("reply_to")
    if reply_to:
        request["ReplyToAddresses"] = [reply_to]
    return request


@hookimpl
def helpdesk_notification_targets() -> list[str]:
    """The email target."""
    return [TARGET]


@hookimpl
def helpdesk_notify(notification: Notification, get_secret: SecretGetter) -> DeliveryResult | None:
    """Send the notification as a UTF-8 plain-text email."""
    if notification.target != TARGET:
        return None
    if "@" not in email_utils.parseaddr(notification.recipient)[1]:
        return DeliveryResult(delivered=False, detail=f"not an email address: {notification.recipient!r}")
    from botocore.exceptions import ClientError

    try:
        resp = _ses().send_email(**email_request(notification))
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in PERMANENT_ERRORS:
            return DeliveryResult(delivered=False, detail=f"SES {code}: {exc.response['Error'].get('Message', '')}")
        raise
    return DeliveryResult(delivered=True, detail=f"ses:{resp['MessageId']}")


def reset_clients() -> None:
    """Forget cached clients (tests switch endpoints)."""
    _clients.clear()
    aws.reset("ses")
