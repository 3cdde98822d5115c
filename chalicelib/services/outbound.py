"""After a message went out: remember every id a reply to it may quote, so the reply threads.

Called by whoever sends (agent replies, rule auto-replies) right after
``helpdesk_send_message`` returned. For email that is our Message-ID, the SES
message id and the ``<id@region.amazonses.com>`` Message-ID SES gave the mail.
"""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain import OutboundMessage, SendResult
from chalicelib.mail.refs import outbound_refs
from chalicelib.store import threads


def record_sent(ticket_id: int, send_result: SendResult, now: datetime,
                message: OutboundMessage | None = None) -> list[str]:
    """Write a REF item per id of the sent message (idempotent); returns the ids."""
    ids = outbound_refs(send_result, message)
    for ref in ids:
        threads.ref_item("msg", ref, ticket_id, now).save()
    return ids
