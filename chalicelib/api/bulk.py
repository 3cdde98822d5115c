"""Bulk changes on selected tickets (the console's row checkboxes): ``POST /tickets/bulk``.

``{"ids": [12, 13], "assignee": "tanaka", "status": "pending", "priority": "high",
"add_tags": ["x"], "remove_tags": ["y"]}``: each ticket changes on its own (its
triggers and SLA clocks follow, as with ``PATCH /tickets/{id}``); the answer
lists every ticket's outcome, so one conflict never hides the others.
Reassigning tickets to someone else is for supervisors and admins.
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.common import authenticate, error_response, handles_errors, json_response
from chalicelib.api.tickets import PATCH_SCHEMA, read_json
from chalicelib.domain import utcnow
from chalicelib.errors import Forbidden, HelpdeskError
from chalicelib.lazy import LazyValidator, lazy_import

flow = lazy_import("chalicelib.services.flow")

bp = Blueprint(__name__)
_props = PATCH_SCHEMA["properties"]
BULK_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["ids"], "minProperties": 2,
    "properties": {
        "ids": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1, "maxItems": 100,
                "uniqueItems": True},
        "status": _props["status"], "priority": _props["priority"], "assignee": _props["assignee"],
        "department": _props["department"], "add_tags": _props["tags"], "remove_tags": _props["tags"],
    },
}
_bulk = LazyValidator(BULK_SCHEMA)
REASSIGN_ROLES = ("supervisor", "admin")


def _mutation(change: dict[str, Any]) -> flow.Mutation:
    def mutate(fields: dict[str, Any], _ticket: Any) -> None:
        for name in ("status", "priority", "assignee", "department"):
            if name in change:
                fields[name] = change[name]
        if "add_tags" in change or "remove_tags" in change:
            tags = (set(fields.get("tags") or []) | set(change.get("add_tags") or [])) - set(
                change.get("remove_tags") or [])
            fields["tags"] = sorted(tags)

    return mutate


@bp.route("/tickets/bulk", methods=["POST"])
@handles_errors
def bulk_change() -> Response:
    """Apply one change to each listed ticket; ``results`` has ``{id, ok}`` or ``{id, ok: false, error}``."""
    request = bp.current_request
    agent = authenticate(request)
    body = read_json(request.raw_body, _bulk)
    if body.get("assignee") not in (None, agent.agent_id) and agent.role not in REASSIGN_ROLES:
        raise Forbidden("only a supervisor or an admin can reassign tickets in bulk")
    mutate = _mutation(body)
    results = []
    for number in body["ids"]:
        try:
            flow.change_ticket(number, mutate, actor=f"agent:{agent.agent_id}", now=utcnow())
            results.append({"id": number, "ok": True})
        except HelpdeskError as exc:
            err = error_response(exc)
            results.append({"id": number, "ok": False, "status": err.status_code, "error": type(exc).__name__,
                            "message": str(exc)})
    return json_response({"results": results, "changed": sum(r["ok"] for r in results)})
