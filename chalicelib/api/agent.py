"""Agent actions on a ticket: claim, reply (with pre-send checks), preview, internal notes."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.common import authenticate, handles_errors, json_response
from chalicelib.api.tickets import parse_ticket_id, read_json
from chalicelib.domain import CLAIM_DEFAULT_TTL_S, CLAIM_MAX_TTL_S, utcnow
from chalicelib.lazy import LazyValidator, lazy_import

claims = lazy_import("chalicelib.services.claims")
notes = lazy_import("chalicelib.services.notes")
outbound = lazy_import("chalicelib.services.outbound")
replies = lazy_import("chalicelib.services.replies")
reply_templates = lazy_import("chalicelib.services.reply_templates")
tickets = lazy_import("chalicelib.store.tickets")

bp = Blueprint(__name__)

_BODY = {"type": "string", "minLength": 1, "maxLength": 50_000}
_TO = {"type": "string", "maxLength": 254, "pattern": r"^[^\x00-\x1f\x7f]+$"}  # no CR/LF: it becomes a mail header
CLAIM = LazyValidator({
    "type": "object", "additionalProperties": False,
    "properties": {"ttl_seconds": {"type": "integer", "minimum": 30, "maximum": CLAIM_MAX_TTL_S},
                   "force": {"type": "boolean"}},
})
REPLY = LazyValidator({
    "type": "object", "additionalProperties": False, "required": ["last_seen_event_id"],
    "properties": {
        "body": _BODY, "template": {"type": "string"}, "vars": {"type": "object"},
        "lang": {"enum": ["ja", "en"]},
        "last_seen_event_id": {"type": "string", "minLength": 1},
        "status": {"enum": ["open", "pending", "on-hold", "solved"]},
        "to": _TO,
        "override": {"type": "boolean"}, "override_reason": {"type": "string", "maxLength": 500},
        "attachments": {"type": "array", "maxItems": 10, "uniqueItems": True,
                        "items": {"type": "string", "pattern": "^up-[0-9a-f]{32}$"}},
    },
    "oneOf": [{"required": ["body"]}, {"required": ["template"]}],
})
PREVIEW = LazyValidator({
    "type": "object", "additionalProperties": False,
    "properties": {"body": _BODY, "template": {"type": "string"}, "vars": {"type": "object"},
                   "lang": {"enum": ["ja", "en"]}, "to": _TO},
    "oneOf": [{"required": ["body"]}, {"required": ["template"]}],
})
NOTE = LazyValidator({"type": "object", "additionalProperties": False, "required": ["body"],
                             "properties": {"body": _BODY}})


@bp.route("/tickets/{ticket_id}/claim", methods=["POST"])
@handles_errors
def claim(ticket_id: str) -> Response:
    """Take or renew the claim ("X is replying"); 409 names the holder; ``force`` for supervisors."""
    request = bp.current_request
    agent = authenticate(request)
    body = read_json(request.raw_body or b"{}", CLAIM)
    result = claims.take(parse_ticket_id(ticket_id), agent, utcnow(),
                         ttl_s=body.get("ttl_seconds", CLAIM_DEFAULT_TTL_S), force=body.get("force", False))
    return json_response(result)


@bp.route("/tickets/{ticket_id}/claim", methods=["DELETE"])
@handles_errors
def release(ticket_id: str) -> Response:
    """Give the claim back."""
    agent = authenticate(bp.current_request)
    claims.release(parse_ticket_id(ticket_id), agent, utcnow())
    return Response(body="", status_code=204)


def _body_of(number: int, agent: Any, body: dict[str, Any]) -> str:
    if "body" in body:
        return body["body"]
    return reply_templates.render_reply(tickets.get_ticket(number), agent, body["template"], body.get("vars") or {},
                        body.get("lang", "ja"))


@bp.route("/tickets/{ticket_id}/replies", methods=["POST"])
@handles_errors
def reply(ticket_id: str) -> Response:
    """Reply to the customer: 409 if claimed by another or newer messages exist, 422 on
    pre-send problems (unless ``override``), 201 when sent, 502 when the channel failed."""
    request = bp.current_request
    agent = authenticate(request)
    number = parse_ticket_id(ticket_id)
    body = read_json(request.raw_body, REPLY)
    render = None
    if "body" not in body:  # a template, rendered on the ticket the reply reads anyway
        def render(ticket: Any) -> str:
            return reply_templates.render_reply(ticket, agent, body["template"], body.get("vars") or {},
                                                body.get("lang", "ja"))
    req = replies.ReplyRequest(body=body.get("body", ""), last_seen_event_id=body["last_seen_event_id"],
                               status=body.get("status", "open"), to=body.get("to"),
                               override=body.get("override", False), override_reason=body.get("override_reason", ""),
                               render=render, attachments=tuple(body.get("attachments") or ()))
    result = replies.reply(number, agent, req, utcnow())
    return json_response(result, 201 if result["sent"] else 502)


@bp.route("/tickets/{ticket_id}/replies/preview", methods=["POST"])
@handles_errors
def preview(ticket_id: str) -> Response:
    """Render a draft (or template) and run the pre-send checks without sending anything."""
    request = bp.current_request
    agent = authenticate(request)
    number = parse_ticket_id(ticket_id)
    body = read_json(request.raw_body, PREVIEW)
    ticket = tickets.get_ticket(number)
    text = _body_of(number, agent, body)
    problems = outbound.check_draft(ticket, text, body.get("to") or ticket.customer_email)
    problems += outbound.carrier_warnings(body.get("to") or ticket.customer_email)
    claim_now = claims.active_claim(ticket, utcnow())
    return json_response({"body": text, "problems": [p.to_dict() for p in problems],
                          "blocked": bool(outbound.blocking(problems)), "claim": claim_now})


@bp.route("/tickets/{ticket_id}/notes", methods=["POST"])
@handles_errors
def add_note(ticket_id: str) -> Response:
    """An internal note (never sent to the customer); ``@agent`` mentions notify those agents."""
    request = bp.current_request
    agent = authenticate(request)
    body = read_json(request.raw_body, NOTE)
    event = notes.add_note(parse_ticket_id(ticket_id), agent, body["body"], utcnow())
    return json_response(event, 201)
