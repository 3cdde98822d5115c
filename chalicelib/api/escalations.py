"""Department directory and cross-department escalations."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.common import authenticate, handles_errors, json_response
from chalicelib.api.tickets import parse_ticket_id, read_json
from chalicelib.directory import load_directory
from chalicelib.domain import utcnow
from chalicelib.lazy import LazyValidator, lazy_import
from chalicelib.settings import get_settings

escalations = lazy_import("chalicelib.services.escalations")

bp = Blueprint(__name__)

ESCALATE = LazyValidator({
    "type": "object", "additionalProperties": False, "required": ["department", "note"],
    "properties": {"department": {"type": "string", "minLength": 1}, "contact": {"type": "string", "minLength": 1},
                   "note": {"type": "string", "minLength": 1, "maxLength": 5000},
                   "due_minutes": {"type": "integer", "minimum": 1, "maximum": 60 * 24 * 30}},
})
CANCEL = LazyValidator({"type": "object", "additionalProperties": False,
                        "properties": {"reason": {"type": "string", "maxLength": 2000}}})
DECLINE = LazyValidator({"type": "object", "additionalProperties": False, "required": ["reason"],
                                "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 2000}}})


@bp.route("/departments", methods=["GET"])
@handles_errors
def departments() -> Response:
    """The directory: departments, contacts, managers, typical categories, escalation deadlines.
    ``?category=`` suggests the departments that usually handle it."""
    request = bp.current_request
    authenticate(request)
    directory = load_directory(get_settings().rules_dir)
    category = (request.query_params or {}).get("category")
    listed = directory.suggest(category) if category else list(directory.departments.values())
    return json_response({"departments": listed, "category": category})


@bp.route("/tickets/{ticket_id}/escalations", methods=["POST"])
@handles_errors
def escalate(ticket_id: str) -> Response:
    """Escalate to a department (its first contact, or ``contact``) with a business-time deadline."""
    request = bp.current_request
    agent = authenticate(request)
    body = read_json(request.raw_body, ESCALATE)
    esc = escalations.escalate(parse_ticket_id(ticket_id), agent, body["department"], body.get("contact"),
                               body["note"], body.get("due_minutes"), utcnow())
    return json_response(esc, 201)


@bp.route("/tickets/{ticket_id}/escalations/decline", methods=["POST"])
@handles_errors
def decline(ticket_id: str) -> Response:
    """Record that the contact declined: the ticket returns to support at the next sweep."""
    request = bp.current_request
    agent = authenticate(request)
    body = read_json(request.raw_body, DECLINE)
    escalations.decline(parse_ticket_id(ticket_id), f"agent:{agent.agent_id}", body["reason"], utcnow())
    return json_response({"declined": True})


@bp.route("/tickets/{ticket_id}/escalations/current", methods=["DELETE"])
@handles_errors
def cancel(ticket_id: str) -> Response:
    """Cancel the open escalation (optional JSON body ``{"reason"}``): it ends, a timeline event
    says who ended it and why, and no reminder, return or manager mail fires for it."""
    request = bp.current_request
    agent = authenticate(request)
    body = read_json(request.raw_body, CANCEL) if request.raw_body else {}
    ended = escalations.cancel(parse_ticket_id(ticket_id), f"agent:{agent.agent_id}", body.get("reason", ""),
                               utcnow())
    return json_response({"cancelled": True, "escalation": ended})
