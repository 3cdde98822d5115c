"""Email event handlers (Chalice blueprint): inbound mail stored in S3, SES bounce/complaint feedback.

- ``email_inbound``: the SES receipt rule's S3 action writes the raw message to
  the raw bucket under ``inbound/email/``; S3 sends "Object Created" to
  EventBridge, which invokes this function (``chalice package`` cannot wire
  ``@on_s3_event`` into a CloudFormation-managed bucket; EventBridge needs no
  change to the bucket's Lambda notifications). Plain S3 notification records
  (``{"Records": [{"s3": ...}]}``) are accepted too.
- ``email_feedback``: SES publishes bounces and complaints to the SNS topic
  ``helpdesk-ses-feedback`` (the package template replaces the name with its own
  topic).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote_plus

from chalice import Blueprint

from chalicelib.domain import utcnow
from chalicelib.lazy import lazy_import
from chalicelib.settings import get_settings

ses_feedback = lazy_import("chalicelib.mail.feedback")
ingest = lazy_import("chalicelib.services.ingest")
mail_events = lazy_import("chalicelib.services.mail_events")
raw = lazy_import("chalicelib.store.raw")

bp = Blueprint(__name__)
log = logging.getLogger(__name__)
INBOUND_PREFIX = "inbound/email/"
FEEDBACK_TOPIC = "helpdesk-ses-feedback"
INBOUND_PATTERN = {"source": ["aws.s3"], "detail-type": ["Object Created"],
                   "detail": {"object": {"key": [{"prefix": INBOUND_PREFIX}]}}}


def stored_objects(event: dict[str, Any]) -> list[tuple[str, str]]:
    """``(bucket, key)`` pairs of an EventBridge "Object Created" event or S3 notification records."""
    if "Records" in event:
        return [(r["s3"]["bucket"]["name"], unquote_plus(r["s3"]["object"]["key"]))
                for r in event["Records"] if "s3" in r]
    detail = event.get("detail") or {}
    return [(detail["bucket"]["name"], detail["object"]["key"])] if "bucket" in detail else []


def ingest_objects(event: dict[str, Any]) -> dict[str, Any]:
    """Ingest each stored raw mail of the event; objects outside our bucket/prefix are skipped."""
    settings = get_settings()
    done = {"tickets": [], "automatic": [], "skipped": []}
    for bucket, key in stored_objects(event):
        if bucket != settings.raw_bucket or not key.startswith(INBOUND_PREFIX):
            log.warning("skipping s3://%s/%s: not an inbound mail of this stage", bucket, key)
            done["skipped"].append(key)
            continue
        outcome = ingest.ingest_stored("email", key, raw.get_raw(key), utcnow())
        done["tickets"] += [r.ticket_id for r in outcome.results]
        done["automatic"] += outcome.automatic
    return done


@bp.on_cw_event(INBOUND_PATTERN, name="email_inbound")
def email_inbound(event: Any) -> dict[str, Any]:
    """A raw mail landed in the bucket: parse it and make or update its ticket (exactly once)."""
    return ingest_objects(event.to_dict())


@bp.on_sns_message(topic=FEEDBACK_TOPIC, name="email_feedback")
def email_feedback(event: Any) -> dict[str, Any]:
    """An SES bounce or complaint: mark the reply undelivered and fire ``delivery_failed``."""
    feedback = ses_feedback.parse_ses_notification(event.message)
    if feedback is None:
        return {"ignored": True}
    result = mail_events.record_feedback(feedback, utcnow())
    return {"ticket_id": result.ticket_id if result else None, "kind": feedback.kind,
            "ses_message_id": feedback.ses_message_id}
