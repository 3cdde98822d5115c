"""Evaluate a rule set against one document: what fires, and why. Pure.

``doc`` is the condition document (see ``chalicelib.engine.document``); it is
shared by all rules and never modified. Nothing here reads the clock: pass
``now`` (timezone-aware).

- ``select_sla(ruleset, doc) -> SlaRule | None``: first SLA policy by position.
- ``evaluate_triggers(ruleset, doc, event_type=None) -> list[Firing]``: the
  triggers listening to ``event_type`` (default ``doc["event"]["type"]``) whose
  condition matches, in position order. One pass over a snapshot: actions of
  an earlier trigger do not change what later triggers see.
- ``due_automations(ruleset, doc, deadlines, fired, now, shift=None) -> list[Firing]``:
  automations whose fire time (deadline + ``offset_minutes``, or the deadline
  moved by ``offset_business_minutes`` on the clock's business calendar via
  ``shift``) is ``<= now``, whose dedupe key is not in ``fired``, and whose
  condition matches now; ordered by fire time, then position. The caller
  records each firing's ``dedupe_key`` so it fires once per deadline
  instance; a new instance (a new next_reply clock, a new escalation) gets a
  new key and fires again. An automation whose condition does not match at
  that moment is skipped, not recorded: it fires on a later evaluation if the
  condition becomes true. A *warning* (negative offset) is due from its fire
  time until its deadline and never after: one whose time passed before the
  deadline was known (an urgent ticket with a 60-minute warning on a
  30-minute target) fires at once, one whose deadline has passed never fires
  (the breach rules speak then).
- ``next_automation_time(ruleset, doc, deadlines, fired, now, shift=None) -> datetime | None``:
  the earliest fire time strictly after ``now`` of an automation not yet
  fired, to put the ticket in the due index. Conditions are *not* applied
  (they may depend on clocks that change with time); they are checked when
  the time comes. ``now`` is required so past, skipped automations do not
  keep the ticket due forever.

``deadlines`` maps a clock name (``first_reply``, ``next_reply``,
``resolution``, ``escalation``, ``pending``) to ``(deadline or None,
instance)``: for SLA metrics the due time (None while paused, achieved or
absent), for ``escalation`` the escalation's answer deadline, for ``pending``
the time the ticket entered pending. ``instance`` is a string that identifies
this deadline instance (e.g. the clock's start time).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from chalicelib.engine.rules import AutomationRule, Firing, Rule, RuleSet, SlaRule

Deadlines = Mapping[str, tuple[datetime | None, str]]
Shift = Callable[[str, datetime, int], datetime]
"""``shift(clock, deadline, business_minutes)``: the deadline moved on that clock's business calendar."""


def select_sla(ruleset: RuleSet, doc: Mapping[str, Any]) -> SlaRule | None:
    """The first SLA policy (by position) whose condition matches ``doc``, or None."""
    return ruleset.select_sla(doc)


def _firing(rule: Rule, doc: Mapping[str, Any], prefix: str = "", **extra: Any) -> Firing:
    return Firing(rule.id, rule.kind, getattr(rule, "actions", ()), rule=rule, doc=doc, prefix=prefix, **extra)


def evaluate_triggers(ruleset: RuleSet, doc: Mapping[str, Any], event_type: str | None = None) -> list[Firing]:
    """Matching triggers for the event, in position order, each with its actions and (lazy) why.

    The hot path of every ingest and agent change: one compiled predicate per
    listening rule, no copies (actions are read-only), no explanation until read.
    """
    if event_type is None:
        event_type = doc["event"]["type"]
    return [Firing(rule.id, "trigger", rule.actions, rule=rule, doc=doc)
            for rule in ruleset.triggers_for(event_type) if rule.matches(doc)]


def dedupe_key(rule_id: str, ticket_id: Any, instance: str) -> str:
    """The once-per-instance key of an automation firing: ``rule#ticket#instance``."""
    return f"{rule_id}#{ticket_id}#{instance}"


def fire_time(rule: AutomationRule, deadlines: Deadlines, shift: Shift | None = None
              ) -> tuple[datetime, str] | None:
    """``(deadline + offset, instance)`` of an automation, or None when its clock has no deadline.

    ``offset_business_minutes`` needs ``shift`` (the business calendar of the clock).
    """
    deadline, instance = deadlines.get(rule.clock, (None, ""))
    if deadline is None:
        return None
    if deadline.tzinfo is None:
        raise ValueError(f"deadline of clock {rule.clock!r} must be timezone-aware")
    if rule.offset_business_minutes is not None:
        if shift is None:
            raise ValueError(f"rule {rule.id!r}: offset_business_minutes needs the clock's business calendar")
        return shift(rule.clock, deadline, rule.offset_business_minutes), instance
    return deadline + timedelta(minutes=rule.offset_minutes), instance


def _pending(ruleset: RuleSet, doc: Mapping[str, Any], deadlines: Deadlines, fired: Collection[str],
             shift: Shift | None) -> list[tuple[datetime, AutomationRule, str, str, datetime]]:
    ticket_id = doc["ticket"]["id"]
    out = []
    for rule in ruleset.automations:
        when = fire_time(rule, deadlines, shift)
        if when is None:
            continue
        key = dedupe_key(rule.id, ticket_id, when[1])
        if key not in fired:
            out.append((when[0], rule, when[1], key, deadlines[rule.clock][0]))
    return out


def _live(rule: AutomationRule, deadline: datetime, now: datetime) -> bool:
    """A warning (before its deadline) is live only until the deadline; anything else stays live."""
    return not rule.is_warning or now < deadline


def due_automations(ruleset: RuleSet, doc: Mapping[str, Any], deadlines: Deadlines,
                    fired: Collection[str], now: datetime, shift: Shift | None = None) -> list[Firing]:
    """Automations due at ``now``, not yet fired, still live, whose condition matches."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    due = [p for p in _pending(ruleset, doc, deadlines, fired, shift) if p[0] <= now and _live(p[1], p[4], now)]
    due.sort(key=lambda p: (p[0], p[1].position, p[1].id))
    return [
        _firing(rule, doc, f"{rule.clock} {_when(rule)} ({at.isoformat()}); ",
                dedupe_key=key, fire_at=at, instance=instance)
        for at, rule, instance, key, _deadline in due
        if rule.matches(doc)
    ]


def _when(rule: AutomationRule) -> str:
    offset = rule.offset_business_minutes if rule.offset_business_minutes is not None else rule.offset_minutes
    if offset == 0:
        return "deadline reached"
    unit = "business min" if rule.offset_business_minutes is not None else "min"
    return f"{abs(offset)} {unit} {'before' if offset < 0 else 'after'} deadline"


def next_automation_time(ruleset: RuleSet, doc: Mapping[str, Any], deadlines: Deadlines,
                         fired: Collection[str], now: datetime, shift: Shift | None = None) -> datetime | None:
    """Earliest fire time after ``now`` of a not-yet-fired automation (conditions not applied)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    future = [at for at, *_ in _pending(ruleset, doc, deadlines, fired, shift) if at > now]
    return min(future, default=None)
