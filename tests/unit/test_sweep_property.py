"""Property: the production sweep, run at every minute, fires every warning exactly once and
strictly before its breach whenever lead time allows, never for a solved or paused metric, and
records every breach exactly once, at its minute.

Random tickets, priorities, SLA policies, business calendars (split shifts, night shifts, JP
holidays, closed dates, DST zones) and event sequences (create, assign, reprioritise, pending,
customer message, agent reply, solve, reopen, close) go through the production code paths:
``flow.prepare_new_ticket`` / ``flow.prepare_message`` / ``flow.change_ticket`` for the events and
``services.sweep.sweep(now)`` -> ``flow.sweep_ticket`` -> ``decide.sweep_plan`` for every minute.
Only the store is in memory (the due index query, ticket reads, the commit with its
conditional firing records), so a week of minutes costs well under a second.

The oracle works per *segment* between two events, when deadlines cannot move: a breach of a
running deadline D is expected at the first sweep minute >= D; a warning with fire time F
(D - 60 business minutes on the policy's calendar, or D - k wall-clock minutes) at the first
sweep minute t with F <= t < D while the metric runs unpaused and the ticket has an assignee;
each at most once per deadline instance. Clock arithmetic itself is checked against brute force
in ``test_sla_business_time``.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from chalicelib.domain import InboundMessage, Sender, Status
from chalicelib.errors import Conflict
from chalicelib.services import decide, flow, runtime
from chalicelib.services.evaluate import metrics_with
from chalicelib.services.sweep import sweep
from chalicelib.store import changes as store_changes
from chalicelib.store import keys
from chalicelib.store.models import TicketItem
from tests.conftest import ROOT

UTC = timezone.utc
MINUTE = timedelta(minutes=1)
PRIORITIES = ("low", "normal", "high", "urgent")
WARN_BUSINESS = ("warn-assignee-1h-before-breach", "warn-assignee-1h-before-next-reply-breach")
WALL_WARN = "prop-wall-warn"


# --- the in-memory store -------------------------------------------------------------------


class Store:
    """Tickets by number, timeline events, firing records (conditional, like DynamoDB's)."""

    def __init__(self) -> None:
        self.tickets: dict[int, dict[str, Any]] = {}
        self.events: list[tuple[int, datetime, dict[str, Any]]] = []
        self.firings: set[str] = set()
        self.fired_at: list[tuple[str, datetime]] = []
        self.duplicate_firings: list[str] = []

    def item(self, number: int) -> TicketItem:
        fields = dict(self.tickets[number])
        return TicketItem(keys.ticket_pk(number), keys.TICKET_SK, **{
            k: v for k, v in fields.items() if k not in ("pk", "sk")})

    def save(self, ticket: TicketItem, events: list[dict[str, Any]], now: datetime) -> None:
        number = int(ticket.number)
        self.tickets[number] = {k: v for k, v in ticket.attribute_values.items()}
        self.events += [(number, now, e) for e in events]

    def commit(self, ticket: TicketItem, events: Any, firing_keys: Any, now: datetime, actor: str,
               extra_items: Any = (), outbox_items: Any = ()) -> list[Any]:
        keys_ = list(firing_keys)
        taken = [k for k in keys_ if k in self.firings]
        if taken:
            self.duplicate_firings += taken
            raise Conflict("firing already recorded", {})
        self.firings |= set(keys_)
        self.fired_at += [(k, now) for k in keys_]
        self.save(ticket, list(events), now)
        return []

    def due(self, now: datetime, shards: int) -> list[int]:
        cutoff = int(now.timestamp())
        return sorted(n for n, f in self.tickets.items()
                      if f.get("next_due_at") is not None and int(f["next_due_at"]) <= cutoff)


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Store:
    s = Store()
    monkeypatch.setattr("chalicelib.store.tickets.get_ticket", s.item)
    monkeypatch.setattr("chalicelib.store.customers.get_customer", lambda _id: None)
    monkeypatch.setattr("chalicelib.store.views.due_ticket_numbers", s.due)
    monkeypatch.setattr("chalicelib.store.changes.commit", s.commit)
    monkeypatch.setattr("chalicelib.store.changes.append_events", lambda *a, **k: [])
    monkeypatch.setattr("chalicelib.services.effects.queue_notifications", lambda *a, **k: [])
    monkeypatch.setattr("chalicelib.services.effects.run_effects", lambda *a, **k: [])
    return s


# --- random worlds -------------------------------------------------------------------------

HOURS = st.sampled_from([
    [["09:30", "18:30"]], [["09:00", "12:00"], ["13:00", "17:30"]], [["08:00", "11:00"], ["15:00", "20:00"]],
    [["22:00", "24:00"]], [["00:00", "06:00"], ["18:00", "24:00"]], [["10:00", "10:45"]],
])


@st.composite
def calendars(draw: Any, start: date) -> dict[str, Any]:
    weekly = {d: draw(HOURS) for d in ("mon", "tue", "wed", "thu", "fri")}
    weekly.update({d: draw(HOURS) for d in draw(st.sets(st.sampled_from(["sat", "sun"])))})
    for d in draw(st.sets(st.sampled_from(["mon", "wed", "fri"]), max_size=1)):
        weekly.pop(d)  # a weekday off
    closed = sorted({(start + timedelta(days=n)).isoformat() for n in draw(st.sets(st.integers(0, 6), max_size=2))})
    cal = {"id": "prop", "timezone": draw(st.sampled_from(["Asia/Tokyo", "Europe/Berlin", "UTC"])),
           "weekly": weekly, "closed_dates": closed}
    if draw(st.booleans()):
        cal["holidays"] = {"country": "JP"}
    return cal


@st.composite
def worlds(draw: Any) -> dict[str, Any]:
    start = draw(st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 20)))
    targets = {}
    for p in PRIORITIES:
        first = draw(st.integers(10, 240))
        targets[p] = {"first_reply": first, "next_reply": draw(st.integers(10, 300)),
                      "resolution": first + draw(st.integers(0, 900))}
    event = st.tuples(st.integers(0, 3 * 1440), st.sampled_from(
        ["assign", "unassign", "priority", "pending", "open", "customer", "reply", "solve", "reopen", "close"]),
        st.sampled_from(PRIORITIES))
    assigned = st.one_of(st.none(), st.integers(0, 400))  # minutes after creation the assignee arrives
    tickets = draw(st.lists(st.tuples(st.integers(0, 600), st.sampled_from(PRIORITIES),
                                      st.lists(event, max_size=8), assigned), min_size=1, max_size=3))
    return {"start": start, "calendar": draw(calendars(start)), "targets": targets, "tickets": tickets,
            "wall_warn": draw(st.integers(1, 90)), "pause_solved": draw(st.booleans())}


def _rules_dir(world: dict[str, Any], tmp: Path) -> Path:
    rules = tmp / "rules"
    (rules / "calendars").mkdir(parents=True)
    (rules / "calendars" / "prop.json").write_text(json.dumps(world["calendar"]))
    for name in (*WARN_BUSINESS, "notify-manager-on-breach", "notify-manager-on-next-reply-breach",
                 "notify-manager-on-resolution-breach"):
        (rules / f"{name}.json").write_text((ROOT / "rules" / f"{name}.json").read_text(encoding="utf-8"))
    (rules / f"{WALL_WARN}.json").write_text(json.dumps({
        "kind": "automation", "position": 50, "at": {"clock": "resolution", "offset_minutes": -world["wall_warn"]},
        "condition": {"properties": {"ticket": {"required": ["assignee"],
                                                "properties": {"assignee": {"type": "string"}}}}},
        "actions": [{"type": "add_tags", "tags": ["wall-warned"]}]}))
    pause = ["pending", "solved"] if world["pause_solved"] else ["pending"]
    (rules / "sla-prop.json").write_text(json.dumps({"kind": "sla", "position": 1, "calendar": "prop",
                                                     "targets": world["targets"], "pause_statuses": pause}))
    return rules


# --- driving the product -------------------------------------------------------------------


def _create(store: Store, number: int, priority: str, at: datetime) -> None:
    ticket = TicketItem(keys.ticket_pk(number), keys.TICKET_SK, number=number, status=Status.NEW.value,
                        priority=priority, channel="form", subject=f"question {number}", customer_id="c-1",
                        created_at=at, updated_at=at, last_customer_message_at=at)
    first = {"id": f"first-{number}", "type": "message_in", "actor": "customer", "data": {"body_text": "hi"}}
    events, _effects = flow.prepare_new_ticket(None)(ticket, first)
    store.save(ticket, events, at)


def _message(store: Store, number: int, at: datetime) -> None:
    ticket = store.item(number)
    msg = InboundMessage(channel="form", dedupe_key=f"m-{number}-{at.timestamp()}",
                         sender=Sender("email", "c@example.jp", email="c@example.jp"), subject="re",
                         body_text="まだですか", received_at=at)
    events, _effects = flow.prepare_message(None, msg)(ticket, {"id": f"msg-{at.timestamp()}", "actor": "customer"})
    store.save(ticket, events, at)


def _apply(store: Store, number: int, kind: str, priority: str, at: datetime) -> None:
    status = store.tickets[number]["status"]
    if status == Status.CLOSED.value:
        return  # a closed ticket takes nothing more
    if kind in ("customer", "reopen") and (kind == "customer" or status == Status.SOLVED.value):
        _message(store, number, at)
        return
    change: dict[str, Any] = {"assign": {"assignee": "sato"}, "unassign": {"assignee": None},
                              "priority": {"priority": priority}, "pending": {"status": "pending"},
                              "open": {"status": "open"}, "solve": {"status": "solved"},
                              "close": {"status": "closed"}}.get(kind, {})

    def mutate(fields: dict[str, Any], _ticket: Any) -> decide.Extra | None:
        if kind == "reply":
            decide.reply_fields(fields, at, fields["status"] if fields["status"] != "new" else "open")
            return decide.Extra(event_types=["agent_reply"])
        fields.update(change)
        return None

    flow.change_ticket(number, mutate, actor="agent:sato", now=at)


# --- the oracle ----------------------------------------------------------------------------


def _expected(store: Store, changes: list[tuple[datetime, int]], sweeps: list[datetime],
              snapshots: dict[tuple[int, datetime], dict[str, Any]], wall_warn: int) -> Counter:
    """(kind, rule, ticket, instance, minute) the sweeps must produce, from each segment's deadlines."""
    rt = runtime.get_runtime()
    policy = rt.rules.get("sla-prop")
    calendar = rt.calendars["prop"]
    expected: Counter = Counter()
    done: set[tuple[str, int, str]] = set()
    ends = [c for c, _ in changes[1:]] + [sweeps[-1] + MINUTE]
    for (begin, _changed), end in zip(changes, ends, strict=True):
        for n in {n for _, n in changes if _ <= begin}:
            fields = snapshots[(n, begin)] if (n, begin) in snapshots else None
            if fields is None:
                continue
            metrics = metrics_with(fields, policy, rt.calendars, begin)
            minutes = [t for t in sweeps if begin < t < end]
            for m in metrics.values():
                if m.state not in ("active", "breached_active") or m.due_at is None:
                    continue
                key = ("breach", n, m.instance)
                hit = next((t for t in minutes if t >= m.due_at), None)
                if key not in done and hit is not None:
                    done.add(key)
                    expected[("sla_breached", "", n, m.instance, hit)] += 1
                if not fields.get("assignee"):
                    continue
                rules = [r for r in WARN_BUSINESS if rt.rules.get(r).clock == m.metric]
                if m.metric == "resolution":
                    rules.append(WALL_WARN)
                for rule in rules:
                    fire = (m.due_at - timedelta(minutes=wall_warn) if rule == WALL_WARN
                            else calendar.subtract_business_minutes(m.due_at, 60))
                    wkey = (rule, n, m.instance)
                    hit = next((t for t in minutes if fire <= t < m.due_at), None)
                    if wkey not in done and hit is not None:
                        done.add(wkey)
                        expected[("rule_fired", rule, n, m.instance, hit)] += 1
    return expected


def _actual(store: Store) -> Counter:
    """What the sweeps recorded: each firing record (``rule#ticket#instance``) at its minute; the
    timeline has one ``sla_breached`` event per breach record."""
    got: Counter = Counter()
    for key, at in store.fired_at:
        rule, number, instance = key.split("#", 2)
        if rule == "sla-breach":
            got[("sla_breached", "", int(number), instance, at)] += 1
        elif rule in (*WARN_BUSINESS, WALL_WARN):
            got[("rule_fired", rule, int(number), instance, at)] += 1
    breach_events = Counter((n, at, e["data"]["instance"]) for n, at, e in store.events if e["type"] == "sla_breached")
    assert breach_events == Counter((k[2], k[4], k[3]) for k in got.elements() if k[0] == "sla_breached")
    return got


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(world=worlds())
def test_every_warning_once_before_its_breach_and_every_breach_once_at_its_minute(store, monkeypatch, world):
    store.__init__()
    with tempfile.TemporaryDirectory() as tmp:
        monkeypatch.setenv("HELPDESK_RULES_DIR", str(_rules_dir(world, Path(tmp))))
        runtime.reset()
        try:
            _run(store, world)
        finally:
            runtime.reset()


def _run(store: Store, world: dict[str, Any]) -> None:
    t0 = datetime.combine(world["start"], datetime.min.time(), tzinfo=UTC)
    plan: list[tuple[datetime, int, str, str]] = []
    for i, (created, priority, events, assigned) in enumerate(world["tickets"], start=1):
        at = t0 + timedelta(minutes=created, seconds=30)  # events between sweep minutes
        plan.append((at, i, "create", priority))
        plan += [(at + timedelta(minutes=off), i, kind, prio) for off, kind, prio in events]
        if assigned is not None:
            plan.append((at + timedelta(minutes=assigned, seconds=1), i, "assign", priority))
    plan.sort(key=lambda p: (p[0], p[1]))
    changes: list[tuple[datetime, int]] = []
    snapshots: dict[tuple[int, datetime], dict[str, Any]] = {}
    sweeps: list[datetime] = []
    t = t0
    horizon = plan[-1][0] + timedelta(days=12)
    while t <= horizon:
        while plan and plan[0][0] < t:
            at, number, kind, prio = plan.pop(0)
            if kind == "create":
                _create(store, number, prio, at)
            else:
                _apply(store, number, kind, prio, at)
            changes.append((at, number))
            for n in store.tickets:  # every ticket's state for the segment starting here
                snapshots[(n, at)] = store_changes.ticket_fields(store.item(n))
        report = sweep(t)
        assert report.failed == []
        sweeps.append(t)
        if not plan and all(f.get("next_due_at") is None for f in store.tickets.values()):
            break
        t += MINUTE
    assert store.duplicate_firings == []
    expected = _expected(store, changes, sweeps, snapshots, world["wall_warn"])
    actual = _actual(store)
    assert actual == expected, {"missing": expected - actual, "extra": actual - expected}
    assert all(count == 1 for count in actual.values())
    event(f"breaches={sum(1 for k in actual if k[0] == 'sla_breached')}")
    event(f"warnings={sum(1 for k in actual if k[0] == 'rule_fired')}")
