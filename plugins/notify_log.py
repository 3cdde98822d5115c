"""Notification target ``log``: writes the notification as one JSON log line.

The always-available fallback target, useful locally and as a last resort:
anything a rule sends to ``log`` shows in the service's log (CloudWatch in AWS).
"""

from __future__ import annotations

import json
import logging

from chalicelib.domain import DeliveryResult, Notification
from chalicelib.hookspecs import SecretGetter, hookimpl

TARGET = "log"
log = logging.getLogger("chalicelib.notify.log")


@hookimpl
def helpdesk_notification_targets() -> list[str]:
    """The log target."""
    return [TARGET]


@hookimpl(trylast=True)
def helpdesk_notify(notification: Notification, get_secret: SecretGetter) -> DeliveryResult | None:
    """Log the notification as JSON and report it delivered."""
    if notification.target != TARGET:
        return None
    line = json.dumps(
        {"target": TARGET, "recipient": notification.recipient, "subject": notification.subject,
         "body": notification.body_text, "ticket_id": notification.ticket_id,
         "dedupe_key": notification.dedupe_key},
        ensure_ascii=False,
    )
    log.info(line)
    return DeliveryResult(delivered=True, detail="logged")
