"""Ticket attachments: an upload slot for a reply's file, and signed downloads. Authenticated (any role)."""

from __future__ import annotations

import logging
import re

from chalice import Blueprint, Response

from chalicelib.api.common import authenticate, handles_errors, json_response
from chalicelib.api.tickets import parse_ticket_id, read_json
from chalicelib.domain import utcnow
from chalicelib.errors import NotFound
from chalicelib.lazy import LazyValidator, lazy_import

attachments = lazy_import("chalicelib.services.attachments")

bp = Blueprint(__name__)
log = logging.getLogger(__name__)
_ID = r"^(up-[0-9a-f]{32}|[0-9A-HJKMNP-TV-Z]{26}-[0-9]{1,4}(\.[0-9]{1,4}){0,15})$"
UPLOAD = LazyValidator({
    "type": "object", "additionalProperties": False, "required": ["filename", "content_type", "size"],
    "properties": {
        "filename": {"type": "string", "minLength": 1, "maxLength": 255},
        "content_type": {"type": "string", "minLength": 3, "maxLength": 255, "pattern": r"^[!-~]+/[!-~]+$"},
        "size": {"type": "integer", "minimum": 1},
    },
})


@bp.route("/tickets/{ticket_id}/attachments", methods=["POST"])
@handles_errors
def new_upload(ticket_id: str) -> Response:
    """A pre-signed S3 POST for one file of a reply (size, type and name pinned by the policy)."""
    request = bp.current_request
    agent = authenticate(request)
    body = read_json(request.raw_body, UPLOAD)
    slot = attachments.new_upload(parse_ticket_id(ticket_id), body["filename"], body["content_type"], body["size"],
                                  utcnow())
    log.info("upload slot %s on ticket %s for agent %s", slot["id"], ticket_id, agent.agent_id)
    return json_response(slot, 201)


@bp.route("/tickets/{ticket_id}/attachments/{attachment_id}", methods=["GET"])
@handles_errors
def download(ticket_id: str, attachment_id: str) -> Response:
    """Redirect (302) to a short-lived signed S3 GET of one of the ticket's attachments; with
    ``Accept: application/json`` the link comes back as JSON (the console opens it)."""
    request = bp.current_request
    agent = authenticate(request)
    number = parse_ticket_id(ticket_id)
    if not re.match(_ID, attachment_id or ""):
        raise NotFound(f"no attachment {attachment_id!r} on ticket {number}")
    link = attachments.download_link(number, attachment_id, utcnow())
    log.info("attachment %s of ticket %s downloaded by %s", attachment_id, number, agent.agent_id)
    accept = (request.headers.get("accept") or "").lower()
    if "application/json" in accept:
        return json_response(link)
    return json_response(link, 302, {"Location": link["url"], "Cache-Control": "no-store"})
