"""Once-only records for mail feedback (bounces, complaints, auto-replies) that SNS or SMTP may repeat."""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import PutError

from chalicelib.store import keys
from chalicelib.store.models import DedupeItem

SK = "DEDUPE"
RETENTION = timedelta(days=90)


def claim_once(key: str, ticket_id: int, now: datetime) -> bool:
    """True the first time ``key`` is claimed; False when it was recorded before (a repeat)."""
    item = DedupeItem(keys.dedupe_pk(f"mailfb:{key}"), SK, ticket_id=ticket_id, expires_at=now + RETENTION)
    try:
        item.save(condition=DedupeItem.pk.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True
