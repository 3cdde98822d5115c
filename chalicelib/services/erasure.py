"""GDPR erasure of one customer (``DELETE /customers/{id}``, ``helpdesk customer erase ID``).

One request does a bounded amount of work and says how far it got, so it always ends well inside
API Gateway's 29 s: the first request removes the customer's identities at once (the next message
from the same address is a new, unlinked customer) and records ``customer_erasure_started`` on the
admin timeline; every request then erases up to ``MAX_TICKETS_PER_REQUEST`` tickets (fewer if
``TIME_BUDGET_S`` runs out) and answers ``in_progress`` (HTTP 202) while tickets remain. The request
that erases the last ticket clears the customer record, the admin timeline's entries about the
customer and any customer merged into them, records ``customer_erased`` with the counts, and answers
``erased`` (200). Repeating the request afterwards answers ``already_erased`` (200). Two requests never
work on one customer at once (a 60 s lease: the second gets 409 and retries).
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime
from typing import Any

from chalicelib.errors import Conflict, NotFound
from chalicelib.store import audit, customers, erasure

MAX_TICKETS_PER_REQUEST = 20
TIME_BUDGET_S = 15.0
"""Stop taking new tickets after this long (one ticket takes well under a second on DynamoDB)."""


def _customer(customer_id: str) -> Any:
    found = customers.resolve_customer(customer_id)
    if found is None:
        raise NotFound(f"customer {customer_id!r} not found")
    return found


def _merged_ids(customer: Any) -> list[str]:
    """Customers merged into this one, transitively (their old records hold names and addresses)."""
    seen: list[str] = []
    todo = list(customer.merged_from or [])
    while todo:
        cid = todo.pop()
        if cid in seen or cid == customer.customer_id:
            continue
        seen.append(cid)
        other = customers.get_customer(cid)
        todo += list((other.merged_from or []) if other is not None else [])
    return seen


def _values(customer: Any, merged: list[str]) -> list[str]:
    values = erasure.personal_values(customer)
    for cid in merged:
        other = customers.get_customer(cid)
        if other is not None:
            values += [v for v in (other.name, other.email) if v]
    return list(dict.fromkeys(values))


def status(customer: Any) -> dict[str, Any]:
    """The public view of a customer's erasure (never the values it looks for)."""
    state = customer.erasure or {}
    if not state and customer.erased_at is None:
        return {"state": "none"}
    return {"state": "erased" if customer.erased_at is not None else state.get("state", "in_progress"),
            "started_at": state.get("started_at"), "finished_at": state.get("finished_at"),
            "actor": state.get("actor"), "counts": state.get("counts") or {}}


def erase(customer_id: str, actor: str, now: datetime, *, max_tickets: int | None = None,
          budget_s: float | None = None) -> dict[str, Any]:
    """Erase (a bounded part of) the customer's personal data; returns ``{"status", "customer_id", ...}``
    with ``status`` one of ``in_progress``, ``erased``, ``already_erased``."""
    started = time.monotonic()
    max_tickets = max_tickets or MAX_TICKETS_PER_REQUEST
    budget_s = TIME_BUDGET_S if budget_s is None else budget_s
    customer = _customer(customer_id)
    cid = customer.customer_id
    if customer.erased_at is not None:
        return {"status": "already_erased", "customer_id": cid, "erasure": status(customer)}
    first = not customer.erasure
    merged = _merged_ids(customer) if first else list((customer.erasure or {}).get("merged") or [])
    values = _values(customer, merged) if first else list((customer.erasure or {}).get("values") or [])
    if not erasure.claim(customer, actor, {"values": values, "merged": merged}, now):
        raise Conflict(f"customer {cid} is being erased by another request; try again in a minute",
                       {"customer_id": cid})
    customer = customers.get_customer(cid)
    counts: Counter[str] = Counter()
    try:
        return _work(customer, merged, values, actor, now, first, counts, started, max_tickets, budget_s)
    except BaseException:
        try:  # what was done counts, and the lease is given back for the retry
            erasure.save_progress(customer, counts)
        except Exception:  # noqa: BLE001 - the original failure is the one to report
            pass
        raise


def _work(customer: Any, merged: list[str], values: list[str], actor: str, now: datetime, first: bool,
          counts: Counter[str], started: float, max_tickets: int, budget_s: float) -> dict[str, Any]:
    cid = customer.customer_id
    for who in [customer, *filter(None, map(customers.get_customer, merged))]:  # every request: a retry finishes
        counts["identities_deleted"] += erasure.drop_identities(who)
    if first:
        audit.record("customer_erasure_started", actor=actor, target=f"customer:{cid}",
                     data={"customer_id": cid, "merged_customers": len(merged)}, now=now)
    page = erasure.pending_tickets(cid, max_tickets + 1)
    todo = page[:max_tickets]
    unsent = erasure.unsent_outbox([int(t.number) for t in todo])
    done = 0
    for ticket in todo:
        if done and time.monotonic() - started > budget_s:
            break
        counts.update(erasure.erase_ticket(ticket, values, actor, unsent, now))
        done += 1
    if done < len(page):
        state = erasure.save_progress(customer, counts)
        counts.clear()
        return {"status": "in_progress", "customer_id": cid, "tickets_erased": done,
                "erasure": {**status(customer), "counts": state["counts"]}}
    counts["audit_entries_scrubbed"] = erasure.scrub_audit(cid, values)
    for other in merged:
        counts["audit_entries_scrubbed"] += erasure.scrub_audit(other, values)
        counts["merged_records_erased"] += int(erasure.erase_merged_record(other, now))
    state = erasure.finish(customer, counts, now)
    counts.clear()
    audit.record("customer_erased", actor=actor, target=f"customer:{cid}",
                 data={"customer_id": cid, "counts": state["counts"]}, now=now)
    return {"status": "erased", "customer_id": cid, "tickets_erased": done,
            "erasure": {**status(customers.get_customer(cid))}}
