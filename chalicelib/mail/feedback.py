"""SES bounce and complaint notifications (delivered by SNS) as plain data.

Both formats are read: identity notifications (``notificationType``) and
configuration-set event publishing (``eventType``). ``mail.messageId`` is the
SES message id the send returned; it leads to the ticket.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.mail.classify import FailedRecipient


@dataclass(frozen=True)
class DeliveryFeedback:
    """One bounce or complaint for one sent message."""

    kind: str  # "bounce" | "complaint"
    ses_message_id: str
    recipients: tuple[FailedRecipient, ...]
    feedback_id: str
    detail_type: str  # bounceType/bounceSubType, or the complaint feedback type
    timestamp: str
    headers: Mapping[str, str]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (for the timeline)."""
        return {"kind": self.kind, "ses_message_id": self.ses_message_id, "feedback_id": self.feedback_id,
                "detail_type": self.detail_type, "timestamp": self.timestamp,
                "recipients": [r.to_dict() for r in self.recipients]}


def parse_ses_notification(message: str | Mapping[str, Any]) -> DeliveryFeedback | None:
    """The feedback in an SNS message body, or None for other notifications (deliveries, sends)."""
    doc = json.loads(message) if isinstance(message, str) else dict(message)
    kind = str(doc.get("notificationType") or doc.get("eventType") or "").lower()
    mail = doc.get("mail") or {}
    headers = {str(x.get("name", "")).lower(): str(x.get("value", "")) for x in mail.get("headers") or []}
    if kind == "bounce":
        b = doc.get("bounce") or {}
        recipients = tuple(FailedRecipient(str(r.get("emailAddress", "")).lower(), str(r.get("action", "failed")),
                                           str(r.get("status", "")), str(r.get("diagnosticCode", ""))[:500])
                           for r in b.get("bouncedRecipients") or [])
        detail = "/".join(x for x in (b.get("bounceType"), b.get("bounceSubType")) if x)
        return DeliveryFeedback("bounce", str(mail.get("messageId", "")), recipients, str(b.get("feedbackId", "")),
                                detail, str(b.get("timestamp", "")), headers)
    if kind == "complaint":
        c = doc.get("complaint") or {}
        recipients = tuple(FailedRecipient(str(r.get("emailAddress", "")).lower(), "complained")
                           for r in c.get("complainedRecipients") or [])
        return DeliveryFeedback("complaint", str(mail.get("messageId", "")), recipients,
                                str(c.get("feedbackId", "")), str(c.get("complaintFeedbackType", "")),
                                str(c.get("timestamp", "")), headers)
    return None
