"""Must show 1: a hand-checked week where first reply 120 -> 60 business minutes and the warning
60 -> 30 minutes before the deadline give exactly the hand-computed extra breaches and shifted warnings.

The office is open Mon-Fri 09:30-18:30 JST; Tue 2026-11-03 is a national holiday (文化の日).
Every ticket is normal priority on sla-default unless said; "warn" is warn-assignee-1h-before-breach
(needs an assignee; every ticket but #11 is assigned a minute after it arrives).

Per ticket (times JST; B = baseline, C = candidate; due = first-reply deadline, w = warning):

 1 Mon 10:00, reply 10:40. B due 12:00 w 11:00 (not reached). C due 11:00 w 10:30 -> + warning 10:30.
 2 Mon 10:00, reply 11:30. B w 11:00, met. C w 10:30, breach 11:00 -> + breach Mon 11:00, w 11:00->10:30.
 3 Mon 10:00, reply 12:30. B w 11:00, breach 12:00. C w 10:30, breach 11:00 -> breach and w shifted.
 4 Mon 18:00, reply Wed 10:20. 30 min on Mon, Tue is the holiday: B due Wed 11:00 w 10:00;
   C due Wed 10:00 w 09:30 -> + breach Wed 10:00, w Wed 10:00->09:30.
 5 Mon 10:00, pending 10:20-13:00 (paused), reply 14:00. B due 14:40 w 13:40; C due 13:40 w 13:10
   -> + breach Mon 13:40, w 13:40->13:10.
 6 Thu 10:00, escalated 10:05 to warehouse (due 14:05, unanswered: returned at 14:05 in both),
   reply 10:50. B w 11:00 not reached; C w 10:30 -> + warning 10:30 only.
 7 Fri 15:00, reply 16:30. B due 17:00 w 16:00; C due 16:00 w 15:30 -> + breach Fri 16:00, w shifted.
 8 Wed 11:00, reply 11:20: no warning either way. None.
 9 Wed 13:00, reply 13:15, customer again 15:00, reply 16:00, solved 16:05: next reply and
   resolution unchanged. None.
10 Fri 18:10, reply Mon 11-09: everything falls after the range. None in the range.
11 Thu 14:00 VIP (sla-vip, raised to high: 30 min), unassigned, reply 14:40: breached 14:30 in both. None.
12 Wed 09:30, set to low (480 min), reply 17:10: due 17:30, B w 16:30, C w 17:00 -> w shifted.
"""

from __future__ import annotations

from chalicelib.replay.compare import Summary
from chalicelib.replay.run import load_runtime
from chalicelib.replay.simulate import Simulator
from tests.replay.conftest import RULES
from tests.replay.week import jst, week

START, END = jst(2, 0, 0), jst(9, 0, 0)
WARN, BREACH_RULE = "warn-assignee-1h-before-breach", "notify-manager-on-breach"


def _z(day: int, hh: int, mm: int) -> str:
    return jst(day, hh, mm).isoformat().replace("+00:00", "Z")


def _replay(candidate):
    base = Simulator(load_runtime(RULES), START, END)
    cand = Simulator(load_runtime(candidate), START, END)
    summary = Summary()
    diffs = {h.number: summary.add(base.run(h), cand.run(h)) for h in week()}
    return summary, diffs


def test_extra_breaches_and_shifted_warnings_are_exactly_the_hand_computed_ones(candidate):
    summary, diffs = _replay(candidate)
    gained_breaches = {(n, i["at"]) for n, d in diffs.items() for i in d.gained if i["kind"] == "breach"}
    assert gained_breaches == {(2, _z(2, 11, 0)), (4, _z(4, 10, 0)), (5, _z(2, 13, 40)), (7, _z(6, 16, 0))}
    assert not any(i for d in diffs.values() for i in d.lost)
    shifted_breaches = {(n, i["baseline_at"], i["candidate_at"]) for n, d in diffs.items() for i in d.shifted
                        if i["kind"] == "breach"}
    assert shifted_breaches == {(3, _z(2, 12, 0), _z(2, 11, 0))}
    warnings = {(n, i["baseline_at"], i["candidate_at"]) for n, d in diffs.items() for i in d.shifted
                if i["kind"] == "firing" and i["rule"] == WARN}
    assert warnings == {(2, _z(2, 11, 0), _z(2, 10, 30)), (3, _z(2, 11, 0), _z(2, 10, 30)),
                        (4, _z(4, 10, 0), _z(4, 9, 30)), (5, _z(2, 13, 40), _z(2, 13, 10)),
                        (7, _z(6, 16, 0), _z(6, 15, 30)), (12, _z(4, 16, 30), _z(4, 17, 0))}
    new_warnings = {(n, i["at"]) for n, d in diffs.items() for i in d.gained if i["kind"] == "firing"
                    and i["rule"] == WARN}
    assert new_warnings == {(1, _z(2, 10, 30)), (6, _z(5, 10, 30))}
    manager = {n for n, d in diffs.items() for i in d.gained
               if i["kind"] == "notification" and i["rule"] == BREACH_RULE}
    assert manager == {2, 4, 5, 7}
    assert {n for n, d in diffs.items() if d.differs} == {1, 2, 3, 4, 5, 6, 7, 12}
    assert diffs[2].final == {"tags": {"baseline": [], "candidate": ["sla-breached"]}}
    assert summary.new_breaches == 4


def test_attainment_before_and_after(candidate):
    summary, _ = _replay(candidate)
    base = {(r["policy"], r["metric"]): (r["met"], r["breached"]) for r in summary.attainment("baseline")["sla"]}
    cand = {(r["policy"], r["metric"]): (r["met"], r["breached"]) for r in summary.attainment("candidate")["sla"]}
    assert base[("sla-default", "first_reply")] == (9, 1)  # only #3 breached (#10 is decided after the range)
    assert cand[("sla-default", "first_reply")] == (5, 5)  # #2 #3 #4 #5 #7
    assert base[("sla-vip", "first_reply")] == cand[("sla-vip", "first_reply")] == (0, 1)
    assert base[("sla-default", "next_reply")] == base[("sla-default", "resolution")] == (1, 0)


def test_the_escalation_returns_the_same_way_under_both_rule_sets(candidate):
    base = Simulator(load_runtime(RULES), START, END)
    ticket = next(h for h in week() if h.number == 6)
    sim = base.run(ticket)
    returned = [f for f in sim.firings if f[1] == "return-unanswered-escalation"]
    assert [f[0] for f in returned] == [jst(5, 14, 5)]
    assert sim.final["assignee"] is None and sim.final["department"] == "support"


def test_sweeping_only_due_minutes_equals_sweeping_every_minute(candidate):
    for rules in (RULES, candidate):
        runtime = load_runtime(rules)
        fast, slow = Simulator(runtime, START, END), Simulator(runtime, START, END, every_minute=True)
        for h in week():
            a, b = fast.run(h), slow.run(h)
            assert (a.firings, a.breaches, a.notifications, a.sla, a.final) == \
                (b.firings, b.breaches, b.notifications, b.sla, b.final), h.number
            assert a.sweeps == b.sweeps == a.visited  # the due index skips every minute nothing is due
            assert b.visited >= b.minutes - 1  # the reference looked at every minute of the range


def test_unchanged_rules_show_no_difference():
    base = Simulator(load_runtime(RULES), START, END)
    same = Simulator(load_runtime(RULES), START, END)
    summary = Summary()
    for h in week():
        summary.add(base.run(h), same.run(h))
    assert summary.differing == 0 and summary.new_breaches == 0
    assert summary.attainment("baseline") == summary.attainment("candidate")


def test_an_agent_cancelling_the_escalation_is_replayed_and_nothing_returns_it():
    ticket = next(h for h in week() if h.number == 6)
    from dataclasses import replace

    from chalicelib.replay.history import Event

    cancel = Event(id="6-x", type="escalation_ended", at=jst(5, 11, 0), actor="agent:alice",
                   data={"id": "ESC6", "department": "warehouse", "reason": "cancelled", "by": "agent:alice"})
    events = sorted([*ticket.events, cancel], key=lambda e: e.at)
    sim = Simulator(load_runtime(RULES), START, END).run(replace(ticket, events=tuple(events)))
    assert not [f for f in sim.firings if f[1] == "return-unanswered-escalation"]
    assert sim.final["department"] == "warehouse"
