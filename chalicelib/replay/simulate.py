"""One ticket's recorded inputs through the production decisions, on a simulated clock. PURE.

Nothing here has its own rule, clock or scheduling logic: arrivals, messages
and changes go through ``services.decide`` (``creation_plan``,
``message_plan``, ``change_plan``), and the clock through ``decide.sweep_plan``
at the minutes the due index would return the ticket (``decide.is_due``).
Sweeping runs at whole UTC minutes, as the scheduled sweep does; an input at
the same instant as a sweep minute goes first. ``Simulator(every_minute=True)``
visits every minute of the range instead (the reference the fast path must
equal); by default only minutes where the ticket is due are visited: after a
commit the next visit is ``max(next minute, ceil(next_due_at))``, and a sweep
that changes nothing leaves the ticket due for the next minute, exactly as the
index would.

Effects (notifications, auto-replies) are collected, never carried out. Field
changes feed back: a priority a rule set is what later conditions see.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from chalicelib.directory import load_directory
from chalicelib.kpi.facts import Event as KpiEvent
from chalicelib.kpi.facts import TicketInfo, extract
from chalicelib.kpi.report import NONE_GROUP
from chalicelib.replay.history import TicketHistory, iso
from chalicelib.replay.inputs import Input, extract_inputs
from chalicelib.services import decide
from chalicelib.services.actions import Plan
from chalicelib.services.escalation_state import end_escalation
from chalicelib.services.evaluate import BREACH_PREFIX
from chalicelib.services.runtime import Runtime
from chalicelib.sla.calendar import BusinessCalendar
from chalicelib.sla.clocks import load_policy

UTC = timezone.utc
MINUTE = timedelta(minutes=1)
SET_FIELDS = ("tags", "fired_keys")
STATE_FIELDS = ("status", "priority", "assignee", "department", "tags")
_ALWAYS_OPEN = BusinessCalendar(id="always-open", timezone="UTC", always_open=True)


@dataclass
class Simulation:
    """What the rules did to one ticket in one replay (times are simulated).

    ``firings``: ``(at, rule_id, occurrence, actions as JSON)``; ``breaches``: ``(at,
    policy, metric, instance)``; ``notifications``: ``(at, rule_id, occurrence, effect
    type, target, recipient role/address, template)``. ``occurrence`` identifies one firing
    across rule sets: the deadline instance for an automation, ``input:N`` (the N-th input,
    0 = arrival) for a trigger; ``sla``: decided deadline instances in
    the range ``(policy, metric, outcome)`` as the KPI report counts them;
    ``final``: status, priority, assignee, department, tags at the end;
    ``input_times``: when people acted after the arrival (taken as recorded);
    ``sweeps``: sweeps of the ticket (minutes it was due); ``visited``: minutes looked at;
    ``minutes``: simulated minutes from arrival to the end of the range.
    """

    number: int
    policy: str | None = None
    firings: list[tuple[datetime, str, str, str]] = field(default_factory=list)
    breaches: list[tuple[datetime, str | None, str, str]] = field(default_factory=list)
    notifications: list[tuple[datetime, str, str, str, str, str, str]] = field(default_factory=list)
    sla: list[tuple[str, str, str]] = field(default_factory=list)
    final: dict[str, Any] = field(default_factory=dict)
    input_times: list[datetime] = field(default_factory=list)
    sweeps: int = 0
    visited: int = 0
    minutes: int = 0


def ceil_minute(epoch_seconds: float) -> datetime:
    """The first whole UTC minute at or after an epoch time."""
    minute = -(-int(epoch_seconds) // 60) * 60
    if minute < epoch_seconds:
        minute += 60
    return datetime.fromtimestamp(minute, UTC)


def normalise(fields: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    """The header as the next read returns it after a commit at ``at`` (sets as sorted lists)."""
    out = dict(fields)
    for name in SET_FIELDS:
        out[name] = sorted(set(out.get(name) or []))
    out["updated_at"] = at
    return out


def customer_doc(customer: Mapping[str, Any]) -> dict[str, Any]:
    """The customer's fields conditions see (as ``services.document.customer_fields``)."""
    if not customer:
        return {}
    return {"id": customer.get("id"), "name": customer.get("name"), "email": customer.get("email"),
            "vip": bool(customer.get("vip")), "tags": sorted(customer.get("tags") or [])}


def initial_fields(ticket: Mapping[str, Any], created: datetime) -> dict[str, Any]:
    """A new ticket's header as ``store.tickets.create_ticket`` writes it."""
    return {"number": int(ticket["number"]), "status": "new", "priority": "normal",
            "channel": ticket.get("channel") or "", "subject": ticket.get("subject") or "(no subject)",
            "category": ticket.get("category"), "customer_id": ticket.get("customer_id") or "",
            "ticket_customer": ticket.get("customer_id"), "customer_name": ticket.get("customer_name"),
            "customer_email": ticket.get("customer_email"), "ticket_list": "ALL", "created_at": created,
            "updated_at": created, "last_customer_message_at": created, "tags": [], "fired_keys": []}


class Simulator:
    """Replays tickets under one rule runtime over ``[start, end)``; see the module docstring."""

    def __init__(self, runtime: Runtime, start: datetime, end: datetime, *, every_minute: bool = False) -> None:
        self.runtime, self.start, self.end, self.every_minute = runtime, start, end, every_minute
        slas = runtime.rules.slas
        self.default_calendar = (runtime.calendars.get(slas[-1].calendar) if slas else None) or _ALWAYS_OPEN
        departments = load_directory(runtime.rules_dir).departments if runtime.rules_dir else {}
        self.department_calendars = {d: runtime.calendars[c["calendar"]] for d, c in departments.items()
                                     if c.get("calendar") in runtime.calendars}

    # -- one ticket ----------------------------------------------------------------------------

    def run(self, history: TicketHistory) -> Simulation:
        """Simulate one ticket from its arrival to the end of the range."""
        inputs = [i for i in extract_inputs(history) if i.at < self.end]
        sim = Simulation(number=history.number, input_times=[i.at for i in inputs[1:]])
        self._timeline: list[KpiEvent] = []
        self._sim, self._customer = sim, customer_doc(history.customer)
        if not inputs:
            return sim
        created = inputs[0].at
        first = inputs[0].event
        first_event = {"id": first.id, "actor": first.actor, "data": dict(first.data)} if first else \
            {"id": "arrival", "actor": "", "data": {}}
        self.fields: dict[str, Any] = {}
        plan = decide.creation_plan(initial_fields(history.ticket, created), self._customer, first_event, created,
                                    self.runtime)
        self._commit(plan, created, "system", [first] if first else [], "input:0")
        self.cursor = ceil_minute(created.timestamp())
        for n, inp in enumerate(inputs[1:], 1):
            self._sweep_until(inp.at)
            self._apply(inp, f"input:{n}")
            self.cursor = max(self.cursor, ceil_minute(inp.at.timestamp()))
        self._sweep_until(self.end)
        sim.minutes = max(0, int((self.end - created).total_seconds() // 60))
        sim.policy = (self.fields.get("sla") or {}).get("policy")
        sim.final = {k: self.fields.get(k) for k in STATE_FIELDS}
        sim.sla = self._decided()
        return sim

    # -- the clock -----------------------------------------------------------------------------

    def _sweep_until(self, until: datetime) -> None:
        """Sweep every minute before ``until`` at which the due index would return the ticket."""
        while True:
            if self.every_minute:
                m = self.cursor
                if m >= until:
                    return
                self.cursor = m + MINUTE
                self._sim.visited += 1
                if decide.is_due(self.fields, m):
                    self._sweep(m)
                continue
            due = self.fields.get("next_due_at")
            if due is None:
                return
            m = max(self.cursor, ceil_minute(int(due)))
            if m >= until:
                return
            self.cursor = m + MINUTE
            self._sim.visited += 1
            self._sweep(m)

    def _sweep(self, m: datetime) -> None:
        self._sim.sweeps += 1
        decision = decide.sweep_plan(self.fields, self._customer, m, self.runtime)
        if decision.changed:
            self._commit(decision.plan, m, "system:sweep", [], keys=decision.keys)

    # -- inputs --------------------------------------------------------------------------------

    def _apply(self, inp: Input, occurrence: str) -> None:
        before = self.fields
        if inp.kind == "message":
            e = inp.event
            assert e is not None
            sender = (e.data.get("from") or {}).get("email") or ""
            message = {"received_at": e.at, "internal": e.type == "internal_message", "sender_email": sender,
                       "body_text": e.data.get("body_text", ""), "subject": e.data.get("subject", ""),
                       "channel": e.data.get("channel") or before.get("channel"), "actor": e.actor}
            now = max(before["updated_at"], e.at)
            plan = decide.message_plan(before, self._customer, message, e.id, now, self.runtime)
            self._commit(plan, now, "system", [e], occurrence)
            return
        after = dict(before)
        after.update(inp.fields)
        if inp.tags_added or inp.tags_removed:
            after["tags"] = sorted((set(after.get("tags") or []) | inp.tags_added) - inp.tags_removed)
        extra = decide.Extra(events=[{"type": e.type, "data": dict(e.data)} for e in inp.events])
        if inp.reply_status is not None:
            decide.reply_fields(after, inp.at, inp.reply_status)
            body = next((e.data.get("body_text", "") for e in inp.events if e.type == "message_out"), "")
            extra.event_types.append("agent_reply")
            extra.event.update({"body_text": body, "actor": inp.actor})
        if inp.escalation is not None:
            esc = inp.escalation
            after["escalation"] = {"id": esc.get("id"), "instance": esc.get("id"), "state": "open",
                                   "department": esc.get("department"), "contact": esc.get("contact") or {},
                                   "note": esc.get("note", ""), "due_at": esc.get("due_at"),
                                   "business_minutes": esc.get("business_minutes"), "created_at": iso(inp.at)}
            after["department"] = esc.get("department")
            extra.event_types.append("escalated")
        esc = after.get("escalation") or {}
        if inp.declined and esc.get("state") == "open":
            after["escalation"] = {**esc, "due_at": iso(inp.at), "declined_at": iso(inp.at)}
        if inp.answered and esc.get("state") == "open":
            after["escalation"] = {**esc, "state": "answered", "answered_at": iso(inp.at)}
        if inp.cancelled is not None:
            ended = end_escalation(after, "cancelled", inp.actor, inp.at, inp.cancelled)
            if ended is not None:
                extra.events.append(ended)
        if inp.delivery_failed is not None:
            extra.event_types.append("delivery_failed")
            extra.event.update({"type": "delivery_failed", "body_text": str(inp.delivery_failed.get("detail") or ""),
                                "subject": before.get("subject", ""), "actor": inp.actor})
        plan = decide.change_plan(before, after, extra, self._customer, inp.actor, inp.at, self.runtime)
        self._commit(plan, inp.at, inp.actor, [], occurrence)

    # -- recording -----------------------------------------------------------------------------

    def _commit(self, plan: Plan, at: datetime, actor: str, lead: list[Any], occurrence: str = "",
                keys: list[str] | None = None) -> None:
        """Take the plan as committed at ``at``; record what the rules did (inside the range)."""
        self.fields = normalise(plan.fields, at)
        sim, inside = self._sim, self.start <= at < self.end
        for e in lead:
            self._timeline.append(KpiEvent(id=str(len(self._timeline)), type=e.type, at=e.at, actor=e.actor,
                                           data=e.data))
        instances = [k.split("#", 2)[2] for k in keys or () if not k.startswith(BREACH_PREFIX + "#")]
        for e in plan.events:
            data = e.get("data") or {}
            self._timeline.append(KpiEvent(id=str(len(self._timeline)), type=e["type"], at=at, actor=actor,
                                           data=data))
            if not inside:
                continue
            if e["type"] == "rule_fired":
                occ = instances.pop(0) if keys is not None and instances else occurrence
                sim.firings.append((at, str(data.get("rule_id")), occ,
                                    json.dumps(data.get("actions") or [], sort_keys=True, ensure_ascii=False)))
            elif e["type"] == "sla_breached":
                sim.breaches.append((at, data.get("policy"), str(data.get("metric")), str(data.get("instance"))))
        if inside:
            for eff in plan.effects:
                to = eff.get("to")
                key = str(eff.get("dedupe_key") or "")
                occ = key.rsplit("#", 1)[0].split("#", 2)[2] if keys is not None and key.count("#") >= 3 \
                    else occurrence
                sim.notifications.append((at, str(eff.get("rule_id")), occ, str(eff.get("type")),
                                          str(eff.get("target", "")),
                                          to if isinstance(to, str) else json.dumps(to, sort_keys=True),
                                          str(eff.get("template", ""))))

    def _decided(self) -> list[tuple[str, str, str]]:
        """Deadline instances decided in the range, by the KPI report's own fact extraction."""
        rule = self.runtime.rules.get(self._sim.policy or "")
        policy = calendar = None
        if rule is not None and getattr(rule, "calendar", None) in self.runtime.calendars:
            policy = load_policy({"id": rule.id, "calendar": rule.calendar, "targets": rule.targets,
                                  "pause_statuses": list(rule.pause_statuses)})
            calendar = self.runtime.calendars[rule.calendar]
        info = TicketInfo(number=self._sim.number, channel=self.fields.get("channel"),
                          category=self.fields.get("category"), calendar=calendar or self.default_calendar,
                          policy=policy, policy_id=self._sim.policy if policy else None,
                          department_calendars=self.department_calendars)
        facts = extract(self._timeline, info, self.start, self.end).facts
        return [(f.policy or NONE_GROUP, f.metric or "", f.outcome or "") for f in facts if f.kind == "sla"]
