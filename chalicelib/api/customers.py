"""Customer routes: a customer with identities and tickets, merging two customers. Authenticated.

- ``GET /customers/{id}``: the customer (a merged one answers with the survivor
  and ``merged_from``), identities and tickets, newest first.
- ``GET /tickets/{id}/customer``: the ticket's customer and the customer's
  *other* tickets (what the ticket screen shows beside the thread).
- ``PATCH /customers/{id}`` ``{"vip", "lang", "name", "notes"}``: VIP (supervisors and
  admins: it changes the SLA policy) makes the shipped ``vip-priority`` and
  ``sla-vip`` rules apply to the customer's next tickets; ``lang`` picks the
  language of acknowledgements and mails to them. Audited on ``GET /audit``.
- ``POST /customers/{id}/merge`` ``{"customer_id": "<other>"}``: merge the other
  customer into ``{id}`` (identities, tickets, profile); the other is marked
  ``merged_into``. Repeating a merge is harmless.
- ``DELETE /customers/{id}`` (admins): GDPR erasure (``services.erasure``): 202 with the
  progress while tickets remain (repeat the request), 200 ``erased`` when done, 200
  ``already_erased`` afterwards. Audited on ``GET /audit``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import jsonbody, roles
from chalicelib.api.common import authenticate, handles_errors, json_response
from chalicelib.api.tickets import parse_ticket_id, read_json
from chalicelib.domain import utcnow
from chalicelib.errors import Forbidden, NotFound, ValidationFailed, schema_error
from chalicelib.lazy import LazyValidator, lazy_import

if TYPE_CHECKING:
    from chalicelib.store.models import CustomerItem, TicketItem

audit = lazy_import("chalicelib.store.audit")
erasure = lazy_import("chalicelib.services.erasure")
customers = lazy_import("chalicelib.store.customers")
tickets = lazy_import("chalicelib.store.tickets")

bp = Blueprint(__name__)


def _ticket_summary(t: TicketItem) -> dict[str, Any]:
    doc = tickets.ticket_to_dict(t)
    return {k: doc[k] for k in ("id", "number", "subject", "status", "priority", "channel", "created_at",
                                "updated_at", "tags")}


def _customer_doc(customer: CustomerItem, exclude_ticket: int | None = None) -> dict[str, Any]:
    own = [t for t in customers.customer_tickets(customer.customer_id) if int(t.number) != exclude_ticket]
    return {
        "id": customer.customer_id,
        "name": customer.name,
        "email": customer.email,
        "vip": bool(customer.vip),
        "lang": customer.lang or "ja",
        "notes": customer.notes or "",
        "tags": sorted(customer.tags or []),
        "erased_at": customer.erased_at.isoformat().replace("+00:00", "Z") if customer.erased_at else None,
        "erasure": erasure.status(customer),
        "identities": customers.list_identities(customer.customer_id),
        "tickets" if exclude_ticket is None else "other_tickets": [_ticket_summary(t) for t in own],
    }


def _resolve(customer_id: str) -> CustomerItem:
    found = customers.resolve_customer(customer_id)
    if found is None:
        raise NotFound(f"customer {customer_id!r} not found")
    return found


@bp.route("/customers/{customer_id}", methods=["GET"])
@handles_errors
def get_customer(customer_id: str):
    """A customer with identities and tickets (follows a merge to the surviving customer)."""
    authenticate(bp.current_request)
    customer = _resolve(customer_id)
    doc = _customer_doc(customer)
    if customer.customer_id != customer_id:
        doc["merged_from"] = customer_id
    return json_response(doc)


@bp.route("/tickets/{ticket_id}/customer", methods=["GET"])
@handles_errors
def ticket_customer(ticket_id: str):
    """The ticket's customer, identities and the customer's other tickets."""
    authenticate(bp.current_request)
    ticket = tickets.get_ticket(parse_ticket_id(ticket_id))
    return json_response(_customer_doc(_resolve(ticket.customer_id), exclude_ticket=int(ticket.number)))


@bp.route("/customers/{customer_id}/merge", methods=["POST"])
@handles_errors
def merge_customer(customer_id: str):
    """Merge the customer named in the body into this one."""
    request = bp.current_request
    roles.ensure(authenticate(request), "merge_customers")
    body = jsonbody.loads(request.raw_body or b"{}")
    other = body.get("customer_id") if isinstance(body, dict) else None
    if not isinstance(other, str) or not other:
        raise ValidationFailed([schema_error(["customer_id"], "required: the id of the customer to merge in")])
    result = customers.merge_customers(customer_id, other, utcnow())
    return json_response({**result, "customer": _customer_doc(_resolve(customer_id))})


PATCH_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "minProperties": 1,
    "properties": {"vip": {"type": "boolean"}, "lang": {"enum": ["ja", "en"]},
                   "name": {"type": ["string", "null"], "minLength": 1, "maxLength": 200},
                   "notes": {"type": ["string", "null"], "maxLength": 5000}},
}
_patch = LazyValidator(PATCH_SCHEMA)
VIP_ROLES = ("supervisor", "admin")


@bp.route("/customers/{customer_id}", methods=["PATCH"])
@handles_errors
def update_customer(customer_id: str):
    """Change VIP (supervisor/admin), language, name or notes; the change is audited."""
    request = bp.current_request
    agent = authenticate(request)
    change = read_json(request.raw_body, _patch)
    if "vip" in change and agent.role not in VIP_ROLES:
        raise Forbidden("only a supervisor or an admin can change a customer's VIP status")
    customer, changed = customers.update_customer(customer_id, change)
    if changed:
        audit.record("customer_updated", actor=f"agent:{agent.agent_id}", target=f"customer:{customer.customer_id}",
                     data={"changes": changed}, now=utcnow())
    return json_response(_customer_doc(_resolve(customer.customer_id)))


@bp.route("/customers/{customer_id}", methods=["DELETE"])
@handles_errors
def erase_customer(customer_id: str):
    """Erase the customer's personal data (GDPR, admins): identities, tickets' personal data, raw mail.

    Bounded work per request: 202 ``in_progress`` while tickets remain (send the same request
    again), 200 ``erased`` when done, 200 ``already_erased`` on a repeat; 409 while another request
    is erasing the same customer."""
    request = bp.current_request
    agent = authenticate(request)
    roles.ensure(agent, "erase_customers")
    if request.raw_body and request.raw_body.strip():
        raise ValidationFailed([schema_error([], "DELETE /customers/{id} takes no body")])
    result = erasure.erase(customer_id, f"agent:{agent.agent_id}", utcnow())
    return json_response(result, status=202 if result["status"] == "in_progress" else 200)
