"""Agent API: ticket views and a ticket with its timeline. Authenticated."""

from __future__ import annotations

import re
from typing import Any

from chalice import Blueprint, Response

from chalicelib import jsonbody, roles
from chalicelib.api.common import authenticate, documented, handles_errors, int_param, json_response
from chalicelib.domain import Priority, Status, utcnow
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.lazy import LazyValidator, lazy_import

field_conflicts = lazy_import("chalicelib.services.field_conflicts")
flow = lazy_import("chalicelib.services.flow")
search = lazy_import("chalicelib.services.search")
presenter = lazy_import("chalicelib.services.presenter")
customers = lazy_import("chalicelib.store.customers")
tickets = lazy_import("chalicelib.store.tickets")
views = lazy_import("chalicelib.store.views")

bp = Blueprint(__name__)
_TICKET_NUMBER = re.compile(r"[0-9]{1,12}")


@bp.route("/me", methods=["GET"])
@handles_errors
def me():
    """The authenticated agent."""
    from chalicelib.store.agents import agent_to_dict

    agent = authenticate(bp.current_request)
    return json_response(agent_to_dict(agent))


def list_query_schema() -> dict[str, Any]:
    """The ``GET /tickets`` query parameters (built on first use: the view names live in the store)."""
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "view": {"enum": [*views.VIEWS, *views.SLA_VIEWS]},
            "limit": {"type": "string", "pattern": "^[0-9]{1,3}$"},
            "cursor": {"type": "string", "maxLength": 2000},
            "order": {"enum": ["oldest", "newest"]},
            "window": {"type": "string", "pattern": "^[0-9]{1,5}$"},
            "lang": {"enum": ["ja", "en"]},
            "q": {"type": "string", "minLength": 1, "maxLength": 200},
            "assignee": {"type": "string", "minLength": 1, "maxLength": 200},
            "department": {"type": "string", "minLength": 1, "maxLength": 200},
            "tag": {"type": "string", "pattern": r"^\S{1,64}$"},
            "channel": {"type": "string", "minLength": 1, "maxLength": 64},
            "priority": {"enum": [p.value for p in Priority]},
            "status": {"enum": [s.value for s in Status]},
        },
    }


_list_query = LazyValidator(list_query_schema)


def _query_errors(params: dict[str, str]) -> None:
    errors = list(_list_query.iter_errors(params))
    if errors:
        raise ValidationFailed.from_schema_errors(errors)


@bp.route("/tickets", methods=["GET"])
@handles_errors
def list_tickets():
    """``?view=`` (new, unassigned, mine, open, pending, on-hold, solved, closed, all, at_risk,
    breached, escalated), ``limit`` (1-100), ``cursor`` (from the previous page), ``order`` (oldest|newest),
    ``window`` (at_risk: minutes ahead, default 60), ``lang`` (ja|en labels); filters ``assignee``
    (``none``: nobody), ``department``, ``tag``, ``channel``, ``priority``, ``status``; ``q`` searches
    (ticket number, customer identity, ``tag:x``, subject words; see ``services.search``)."""
    request = bp.current_request
    agent = authenticate(request)
    params = dict(request.query_params or {})
    _query_errors(params)
    view = params.get("view", "all")
    limit = int_param(params, "limit", 25, 1, 100)
    lang = "en" if params.get("lang") == "en" else "ja"
    filters = {k: params[k] for k in views.FILTERS if params.get(k)}
    if filters.get("assignee") == "me":
        filters["assignee"] = agent.agent_id
    now = utcnow()
    body: dict[str, Any] = {"view": view}
    if params.get("q"):
        kind, found = search.find(params["q"], filters, limit)
        items, cursor = [t for t in found if views.matches(t, filters)], None
        body.update(view="search", q=params["q"], search_kind=kind)
    elif view in views.SLA_VIEWS:
        window = int_param(params, "window", 60, 1, 7 * 24 * 60)
        items, cursor = [t for t in views.sla_view(view, now, window, limit) if views.matches(t, filters)], None
    elif view == "all" and list(filters) == ["tag"] and not params.get("cursor"):
        items, cursor = search.tag_page(filters["tag"], limit), None
    else:
        items, cursor = views.list_view(
            view, agent_id=agent.agent_id, limit=limit, cursor=params.get("cursor"), filters=filters,
            newest_first=params.get("order", "newest" if view in ("all", "solved", "closed") else "oldest")
            == "newest",
        )
    body.update(tickets=[presenter.present(t, now, lang) for t in items], next_cursor=cursor)
    return json_response(body)


def parse_ticket_id(raw_id: str) -> int:
    """Ticket number from ``12`` or ``#12``; 404 for anything else."""
    digits = raw_id[1:] if raw_id.startswith("#") else raw_id
    if not _TICKET_NUMBER.fullmatch(digits):  # ASCII digits, at most 12 (DynamoDB numbers have 38)
        raise NotFound(f"ticket {raw_id[:40]!r} not found")
    return int(digits)


_ETAG_HEADER = {"ETag": {"description": "the ticket's version; send it back in If-Match when changing fields",
                        "schema": {"type": "string"}}}
_JSON_OK = {"application/json": {"schema": {"type": "object"}}}


@bp.route("/tickets/{ticket_id}", methods=["GET"])
@handles_errors
@documented(responses={"200": {"description": "OK", "headers": _ETAG_HEADER, "content": _JSON_OK}})
def get_ticket(ticket_id: str):
    """One ticket with its timeline and the customer's identities."""
    request = bp.current_request
    authenticate(request)
    number = parse_ticket_id(ticket_id)
    ticket = tickets.get_ticket(number)
    lang = "en" if (request.query_params or {}).get("lang") == "en" else "ja"
    body = presenter.present(ticket, utcnow(), lang)
    body["timeline"] = [tickets.event_to_dict(e) for e in tickets.get_timeline(number)]
    body["customer"]["identities"] = customers.list_identities(ticket.customer_id)
    body["etag"] = field_conflicts.etag(ticket)
    return json_response(body, headers={"ETag": body["etag"]})


_LINE = r"^[^\x00-\x1f\x7f]+$"
_TAGS = {"type": "array", "items": {"type": "string", "pattern": r"^\S{1,64}$"}, "uniqueItems": True, "maxItems": 50}
PATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "minProperties": 1,
    "additionalProperties": False,
    "properties": {
        "status": {"enum": [s.value for s in Status if s != Status.NEW]},
        "priority": {"enum": [p.value for p in Priority]},
        "assignee": {"type": ["string", "null"], "minLength": 1, "maxLength": 200, "pattern": _LINE},
        "department": {"type": ["string", "null"], "minLength": 1, "maxLength": 200, "pattern": _LINE},
        "tags": _TAGS,
    },
}
_patch_validator = LazyValidator(PATCH_SCHEMA)


def read_json(raw_body: bytes | None, validator: LazyValidator) -> dict[str, Any]:
    """A JSON object body validated by ``validator``; 400 listing every problem otherwise."""
    doc = jsonbody.loads(raw_body or b"")
    errors = list(validator.iter_errors(doc))
    if errors:
        raise ValidationFailed.from_schema_errors(errors)
    return doc


@bp.route("/tickets/{ticket_id}", methods=["PATCH"])
@handles_errors
@documented(
    parameters=[{"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
                 "description": "the ETag from GET: refuse (412) if someone else changed a sent field since"}],
    responses={"200": {"description": "OK", "headers": _ETAG_HEADER, "content": _JSON_OK},
               "412": {"description": "someone else changed a sent field since the If-Match version: "
                                      "`changes` names who changed what, when; `etag` is the current one",
                       "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}})
def update_ticket(ticket_id: str) -> Response:
    """Change status, priority, assignee, department or tags; triggers and SLA clocks follow.

    Optional ``If-Match: <ETag from GET>``: 412 naming who changed what, when, if someone else
    changed one of the sent fields since (see ``services.field_conflicts``); without it the last
    writer wins. The answer carries the new ``ETag``."""
    request = bp.current_request
    agent = authenticate(request)
    number = parse_ticket_id(ticket_id)
    change = read_json(request.raw_body, _patch_validator)
    if_match = (request.headers or {}).get("if-match")
    actor = f"agent:{agent.agent_id}"

    def mutate(fields: dict[str, Any], ticket: Any) -> None:
        if if_match is not None:
            field_conflicts.ensure_current(ticket, if_match, change, actor)
        if "assignee" in change and not roles.may_assign(agent, ticket.assignee, change["assignee"]):
            roles.ensure(agent, "reassign")
        fields.update(change)

    changed = flow.change_ticket(number, mutate, actor=actor, now=utcnow())
    body = presenter.present(changed.ticket, utcnow())
    body["etag"] = field_conflicts.etag(changed.ticket)
    return json_response(body, headers={"ETag": body["etag"]})
