"""``POST /webhooks/{channel}``: every channel plugin's inbound endpoint."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.common import handles_errors, json_response
from chalicelib.domain import utcnow
from chalicelib.lazy import lazy_import

ingest = lazy_import("chalicelib.services.ingest")

bp = Blueprint(__name__)

# Accept the media types channels use; the plugin rejects what it cannot read
# with a 400 naming the content type (Chalice would answer others with 415).
INBOUND_CONTENT_TYPES = [
    "application/json",
    "application/x-www-form-urlencoded",
    "text/plain",
    "multipart/form-data",
    "message/rfc822",
    "application/octet-stream",
    "application/xml",
    "text/xml",
]


@bp.route("/webhooks/{channel}", methods=["POST"], content_types=INBOUND_CONTENT_TYPES)
@handles_errors
def receive_webhook(channel: str):
    """Verify, keep and ingest one delivery; 201 when something new was recorded."""
    request = bp.current_request
    outcome = ingest.receive(
        channel,
        dict(request.headers or {}),
        request.raw_body or b"",
        dict(request.query_params or {}),
        utcnow(),
    )
    if outcome.response is not None:  # a handshake (e.g. Slack's url_verification challenge)
        return json_response(outcome.response)
    body = {
        "raw_ref": outcome.raw_ref,
        "results": [
            {"ticket_id": r.ticket_id, "event_id": r.event_id, "created": r.created, "duplicate": r.duplicate}
            for r in outcome.results
        ],
    }
    if outcome.automatic:  # machine mail: never a ticket; what it was, by which rule, and why
        body["automatic"] = outcome.automatic
    return json_response(body, 201 if outcome.created_any else 200)
