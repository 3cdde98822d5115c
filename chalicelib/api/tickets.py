"""Agent API: ticket views and a ticket with its timeline. Authenticated."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.common import authenticate, handles_errors, int_param, json_response
from chalicelib.errors import NotFound
from chalicelib.store import customers, tickets, views

bp = Blueprint(__name__)


@bp.route("/me", methods=["GET"])
@handles_errors
def me():
    """The authenticated agent."""
    agent = authenticate(bp.current_request)
    return json_response(
        {"id": agent.agent_id, "name": agent.name, "email": agent.email, "role": agent.role,
         "department": agent.department}
    )


@bp.route("/tickets", methods=["GET"])
@handles_errors
def list_tickets():
    """``?view=`` (new, unassigned, mine, open, pending, on-hold, solved, closed, all),
    ``limit`` (1-100), ``cursor`` (from the previous page), ``order`` (oldest|newest)."""
    request = bp.current_request
    agent = authenticate(request)
    params = dict(request.query_params or {})
    view = params.get("view", "all")
    limit = int_param(params, "limit", 25, 1, 100)
    items, cursor = views.list_view(
        view, agent_id=agent.agent_id, limit=limit, cursor=params.get("cursor"),
        newest_first=params.get("order", "newest" if view in ("all", "solved", "closed") else "oldest") == "newest",
    )
    return json_response(
        {"view": view, "tickets": [tickets.ticket_to_dict(t) for t in items], "next_cursor": cursor}
    )


def _parse_ticket_id(raw_id: str) -> int:
    digits = raw_id.lstrip("#")
    if not digits.isdigit():
        raise NotFound(f"ticket {raw_id!r} not found")
    return int(digits)


@bp.route("/tickets/{ticket_id}", methods=["GET"])
@handles_errors
def get_ticket(ticket_id: str):
    """One ticket with its timeline and the customer's identities."""
    authenticate(bp.current_request)
    number = _parse_ticket_id(ticket_id)
    ticket = tickets.get_ticket(number)
    body = tickets.ticket_to_dict(ticket)
    body["timeline"] = [tickets.event_to_dict(e) for e in tickets.get_timeline(number)]
    body["customer"]["identities"] = customers.list_identities(ticket.customer_id)
    return json_response(body)
