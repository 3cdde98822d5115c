"""SLA clocks: deadlines, pauses, achieved vs breached, next-reply instances."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain import Priority, Status
from chalicelib.sla.calendar_doc import load_calendar
from chalicelib.sla.clocks import (
    SlaPolicy,
    SlaTargets,
    TicketFacts,
    compute_metrics,
    load_policy,
    next_deadline,
    pauses_from_history,
    to_dict,
)

JST = ZoneInfo("Asia/Tokyo")
UTC = timezone.utc
CAL = load_calendar({
    "id": "jp-office", "timezone": "Asia/Tokyo", "holidays": {"country": "JP"},
    "weekly": {d: [["09:30", "18:30"]] for d in ("mon", "tue", "wed", "thu", "fri")},
})
POLICY = SlaPolicy(
    id="standard",
    calendar_id="jp-office",
    targets={
        Priority.URGENT: SlaTargets(first_reply=60, next_reply=60, resolution=480),
        Priority.NORMAL: SlaTargets(first_reply=240, next_reply=240, resolution=2400),
        Priority.LOW: SlaTargets(resolution=4800),
    },
)


def jst(*args) -> datetime:
    return datetime(*args, tzinfo=JST)


def facts(**kw) -> TicketFacts:
    base = {"created_at": jst(2026, 1, 14, 16, 0), "priority": Priority.NORMAL,
            "status": Status.OPEN}
    return TicketFacts(**{**base, **kw})


def test_first_reply_due_next_working_day_and_running():
    m = compute_metrics(POLICY, CAL, facts(), now=jst(2026, 1, 14, 17, 0))["first_reply"]
    assert m.state == "active" and not m.breached
    assert m.due_at == jst(2026, 1, 15, 11, 0) and m.due_at.tzinfo is UTC
    assert m.started_at == jst(2026, 1, 14, 16, 0)
    assert (m.elapsed_business_minutes, m.business_minutes_remaining) == (60, 180)


def test_reply_before_deadline_is_achieved():
    f = facts(first_replied_at=jst(2026, 1, 15, 10, 0), last_agent_reply_at=jst(2026, 1, 15, 10, 0))
    m = compute_metrics(POLICY, CAL, f, now=jst(2026, 1, 16, 12, 0))["first_reply"]
    assert m.state == "achieved" and not m.breached
    assert m.stopped_at == jst(2026, 1, 15, 10, 0) and m.due_at is None
    assert m.business_minutes_remaining == 60


def test_reply_after_deadline_is_breached():
    f = facts(first_replied_at=jst(2026, 1, 15, 11, 30))
    m = compute_metrics(POLICY, CAL, f, now=jst(2026, 1, 16, 12, 0))["first_reply"]
    assert m.state == "breached" and m.breached
    assert m.business_minutes_remaining == -30


def test_overdue_running_clock_has_negative_remaining_minutes():
    m = compute_metrics(POLICY, CAL, facts(), now=jst(2026, 1, 15, 13, 0))["first_reply"]
    assert m.state == "breached_active" and m.breached
    assert m.due_at == jst(2026, 1, 15, 11, 0)
    assert m.business_minutes_remaining == -120


def test_deadline_at_closing_time_is_breached_after_hours_with_zero_remaining():
    f = facts(created_at=jst(2026, 1, 14, 16, 0))  # +150 → 18:30 the same day
    policy = SlaPolicy("p", "jp-office", {Priority.NORMAL: SlaTargets(first_reply=150)})
    at_close = compute_metrics(policy, CAL, f, now=jst(2026, 1, 14, 18, 30))["first_reply"]
    evening = compute_metrics(policy, CAL, f, now=jst(2026, 1, 14, 20, 0))["first_reply"]
    assert at_close.state == "active" and at_close.due_at == jst(2026, 1, 14, 18, 30)
    assert evening.state == "breached_active" and evening.business_minutes_remaining == 0


def test_finished_pause_moves_deadline_by_paused_business_time():
    created = jst(2026, 1, 19, 10, 0)  # Monday; urgent resolution 480 → due 18:00
    plain = compute_metrics(POLICY, CAL, facts(created_at=created, priority=Priority.URGENT),
                            now=jst(2026, 1, 19, 10, 30))["resolution"]
    assert plain.due_at == jst(2026, 1, 19, 18, 0)
    paused = facts(created_at=created, priority=Priority.URGENT,
                   pauses=[(jst(2026, 1, 19, 11, 0), jst(2026, 1, 19, 14, 0))])
    m = compute_metrics(POLICY, CAL, paused, now=jst(2026, 1, 19, 15, 0))["resolution"]
    # 60 min before the pause + 270 after it on Monday, 150 left → Tuesday 12:00.
    assert m.due_at == jst(2026, 1, 20, 12, 0)
    assert m.state == "active"
    assert m.elapsed_business_minutes == 60 + 60


def test_overnight_pause_counts_only_business_minutes():
    f = facts(created_at=jst(2026, 1, 19, 10, 0), priority=Priority.URGENT,
              pauses=[(jst(2026, 1, 19, 17, 0), jst(2026, 1, 20, 10, 0))])
    m = compute_metrics(POLICY, CAL, f, now=jst(2026, 1, 20, 10, 30))["resolution"]
    assert m.elapsed_business_minutes == 420 + 30  # 10:00-17:00 Mon, 10:00-10:30 Tue
    assert m.due_at == jst(2026, 1, 20, 11, 0)  # not Monday 18:00


def test_running_pause_has_no_due_date_and_stops_elapsed_time():
    f = facts(created_at=jst(2026, 1, 19, 10, 0), priority=Priority.URGENT, status=Status.PENDING,
              pauses=[(jst(2026, 1, 19, 11, 0), None)])
    metrics = compute_metrics(POLICY, CAL, f, now=jst(2026, 1, 21, 15, 0))
    m = metrics["resolution"]
    assert m.state == "paused" and m.due_at is None and not m.breached
    assert m.business_minutes_remaining == 480 - 60
    assert metrics["first_reply"].state == "paused"
    assert next_deadline(metrics) is None


def test_pending_status_without_history_pauses_from_now():
    f = facts(status=Status.PENDING)
    m = compute_metrics(POLICY, CAL, f, now=jst(2026, 1, 14, 17, 0))["first_reply"]
    assert m.state == "paused" and m.due_at is None
    assert m.elapsed_business_minutes == 60


def test_pause_after_the_deadline_keeps_the_breach():
    f = facts(status=Status.PENDING, pauses=[(jst(2026, 1, 15, 12, 0), None)])
    m = compute_metrics(POLICY, CAL, f, now=jst(2026, 1, 16, 12, 0))["first_reply"]
    assert m.state == "paused" and m.breached
    assert m.business_minutes_remaining == -60


def test_next_reply_new_customer_message_is_a_new_instance():
    first = jst(2026, 1, 15, 10, 0)
    waiting_1 = jst(2026, 1, 15, 14, 0)
    f1 = facts(first_replied_at=first, last_agent_reply_at=first,
               customer_messages_after_last_reply_since=waiting_1)
    m1 = compute_metrics(POLICY, CAL, f1, now=jst(2026, 1, 15, 15, 0))["next_reply"]
    assert m1.state == "active" and m1.due_at == jst(2026, 1, 15, 18, 0)
    assert m1.instance == "next_reply:2026-01-15T05:00:00Z"

    # The agent answers: the same instance stops, achieved.
    answered = facts(first_replied_at=first, last_agent_reply_at=jst(2026, 1, 15, 16, 0),
                     customer_messages_after_last_reply_since=waiting_1)
    m2 = compute_metrics(POLICY, CAL, answered, now=jst(2026, 1, 15, 16, 5))["next_reply"]
    assert (m2.instance, m2.state) == (m1.instance, "achieved")

    # The customer writes again: a new deadline instance.
    f3 = facts(first_replied_at=first, last_agent_reply_at=jst(2026, 1, 15, 16, 0),
               customer_messages_after_last_reply_since=jst(2026, 1, 15, 17, 0))
    m3 = compute_metrics(POLICY, CAL, f3, now=jst(2026, 1, 15, 17, 30))["next_reply"]
    assert m3.instance != m1.instance and m3.state == "active"


def test_missing_targets_and_unstarted_clocks_are_absent():
    low = compute_metrics(POLICY, CAL, facts(priority=Priority.LOW), now=jst(2026, 1, 15, 9, 0))
    assert set(low) == {"resolution"}
    normal = compute_metrics(POLICY, CAL, facts(), now=jst(2026, 1, 15, 9, 0))
    assert set(normal) == {"first_reply", "resolution"}  # nobody is waiting for a next reply


def test_solving_stops_resolution_and_unanswered_first_reply():
    solved = jst(2026, 1, 15, 10, 0)
    f = facts(status=Status.SOLVED, solved_at=solved)
    metrics = compute_metrics(POLICY, CAL, f, now=jst(2026, 1, 20, 10, 0))
    assert metrics["resolution"].state == "achieved"
    assert metrics["first_reply"].stopped_at == solved
    assert next_deadline(metrics) is None


def test_next_deadline_is_the_earliest_active_due_date():
    metrics = compute_metrics(POLICY, CAL, facts(priority=Priority.URGENT),
                              now=jst(2026, 1, 14, 16, 10))
    assert next_deadline(metrics).metric == "first_reply"  # due 17:00, resolution later
    late = compute_metrics(POLICY, CAL, facts(priority=Priority.URGENT),
                           now=jst(2026, 1, 14, 17, 30))
    assert next_deadline(late).metric == "resolution"
    assert next_deadline(late, include_breached=True).metric == "first_reply"


def test_to_dict_is_json_ready_with_z_times():
    m = compute_metrics(POLICY, CAL, facts(), now=jst(2026, 1, 14, 17, 0))["first_reply"]
    d = to_dict(m)
    json.dumps(d)
    assert d["due_at"] == "2026-01-15T02:00:00Z"
    assert d["started_at"] == "2026-01-14T07:00:00Z"
    assert d["stopped_at"] is None
    assert d["instance"] == "first_reply:2026-01-14T07:00:00Z"
    assert d["business_minutes_remaining"] == 180


def test_naive_now_is_rejected():
    with pytest.raises(ValueError, match="timezone-aware"):
        compute_metrics(POLICY, CAL, facts(), now=datetime(2026, 1, 14, 17, 0))


def test_pauses_from_status_history():
    t = [jst(2026, 1, 19, h, 0) for h in range(10, 16)]
    history = [(t[0], "open"), (t[1], Status.PENDING), (t[2], "on-hold"), (t[3], "open"),
               (t[4], "pending")]
    assert pauses_from_history(history, ["pending", "on-hold"]) == [(t[1], t[3]), (t[4], None)]


def test_load_policy_from_json_and_errors_name_the_field():
    policy = load_policy({"id": "std", "calendar": "jp-office",
                          "targets": {"urgent": {"first_reply": 60, "resolution": 480}},
                          "pause_statuses": ["pending", "on-hold"]})
    assert policy.target("urgent", "first_reply") == 60
    assert policy.target(Priority.URGENT, "next_reply") is None
    assert policy.target(Priority.LOW, "resolution") is None
    assert policy.pause_statuses == {Status.PENDING, Status.ON_HOLD}
    with pytest.raises(ValueError, match=r"^targets\.urgent\.first_replies:"):
        load_policy({"id": "std", "calendar": "c", "targets": {"urgent": {"first_replies": 1}}})
    with pytest.raises(ValueError, match=r"^targets\.asap:"):
        load_policy({"id": "std", "calendar": "c", "targets": {"asap": {}}})


def test_overlapping_and_early_pauses_are_not_double_counted():
    created = jst(2026, 1, 19, 10, 0)
    f = facts(created_at=created, priority=Priority.URGENT, pauses=[
        (jst(2026, 1, 16, 10, 0), jst(2026, 1, 19, 10, 30)),  # began before the ticket
        (jst(2026, 1, 19, 11, 0), jst(2026, 1, 19, 13, 0)),
        (jst(2026, 1, 19, 12, 0), jst(2026, 1, 19, 14, 0)),  # overlaps the previous one
    ])
    m = compute_metrics(POLICY, CAL, f, now=jst(2026, 1, 19, 15, 0))["resolution"]
    assert m.elapsed_business_minutes == 30 + 60  # 10:30-11:00 and 14:00-15:00


def test_solved_while_paused_counts_until_the_pause_began():
    f = facts(created_at=jst(2026, 1, 19, 10, 0), priority=Priority.URGENT, status=Status.SOLVED,
              solved_at=jst(2026, 1, 20, 12, 0), pauses=[(jst(2026, 1, 19, 12, 0), None)])
    m = compute_metrics(POLICY, CAL, f, now=jst(2026, 1, 21, 9, 0))["resolution"]
    assert m.state == "achieved" and m.elapsed_business_minutes == 120


def test_policy_accepts_plain_strings():
    policy = SlaPolicy("p", "jp-office", {"urgent": SlaTargets(first_reply=30)},
                       pause_statuses=["pending", "on-hold"])
    assert policy.target(Priority.URGENT, "first_reply") == 30
    f = facts(priority="urgent", status="on-hold")
    assert compute_metrics(policy, CAL, f, now=jst(2026, 1, 14, 17, 0))["first_reply"].state == "paused"
