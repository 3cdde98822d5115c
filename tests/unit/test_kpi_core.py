"""The pure KPI core: statistics, days, facts from a hand-made timeline, backlog, report and CSV."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from chalicelib.kpi import backlog, days, facts, report, stats
from chalicelib.sla.calendar_doc import load_calendar
from chalicelib.sla.clocks import load_policy
from tests.conftest import ROOT

JST = ZoneInfo("Asia/Tokyo")
OFFICE = load_calendar({"id": "office", "timezone": "Asia/Tokyo", "holidays": {"country": "JP"},
                        "weekly": {d: [["09:30", "18:30"]] for d in ("mon", "tue", "wed", "thu", "fri")}})
POLICY = load_policy({"id": "p", "calendar": "office",
                      "targets": {"normal": {"first_reply": 120, "next_reply": 1440, "resolution": 2880}}})


def jst(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=JST).astimezone(timezone.utc)


def test_percentiles_are_nearest_rank_and_summaries_round():
    assert stats.percentile([5, 1, 4, 2, 3], 90) == 5
    assert stats.percentile(range(1, 11), 90) == 9
    assert stats.percentile([7], 90) == 7 and stats.percentile([], 90) is None
    assert stats.summarize([1, 2, 3, 4]) == {"count": 4, "mean": 2.5, "median": 2.5, "p90": 4}
    assert stats.summarize([]) == {"count": 0, "mean": None, "median": None, "p90": None}
    assert stats.rate(1, 3) == 0.3333 and stats.rate(0, 0) is None
    with pytest.raises(ValueError):
        stats.percentile([1], 0)


def test_report_days_are_local_and_follow_dst():
    ny = ZoneInfo("America/New_York")
    start, end = days.day_bounds(date(2026, 3, 8), ny)  # DST starts: a 23-hour day
    assert end - start == timedelta(hours=23)
    assert days.day_key(datetime(2026, 1, 13, 15, 30, tzinfo=timezone.utc), JST) == "2026-01-14"
    assert list(days.days_between(date(2026, 1, 30), date(2026, 2, 1))) == [
        date(2026, 1, 30), date(2026, 1, 31), date(2026, 2, 1)]


def _ev(n: int, type_: str, at: datetime, actor: str = "system", **data) -> facts.Event:
    return facts.Event(id=f"{n:03d}", type=type_, at=at, actor=actor, data=data)


def _timeline() -> list[facts.Event]:
    # Fri 2026-01-09 17:00 arrival; Mon 01-12 is a holiday; first reply Tue 10:00 (breached: due Tue 11:30).
    c = "customer:email:a@example.jp"
    return [
        _ev(1, "message_in", jst(9, 17), c, channel="form"),
        _ev(2, "message_out", jst(9, 17), "system", auto_reply=True, state="sent"),
        _ev(3, "assigned", jst(9, 17, 5), "agent:sato", field="assignee", to="sato"),
        _ev(4, "sla_breached", jst(13, 11, 30), "system:sweep", metric="first_reply", policy="p",
            instance=f"first_reply:{jst(9, 17).isoformat().replace('+00:00', 'Z')}"),
        _ev(5, "message_out", jst(13, 9, 45), "agent:sato", agent="sato", state="failed"),
        _ev(6, "message_out", jst(13, 12), "agent:sato", agent="sato", state="sent"),
        _ev(7, "status_changed", jst(13, 12), "agent:sato", field="status", to="solved"),
        _ev(8, "message_in", jst(14, 9), c),
        _ev(9, "status_changed", jst(14, 9), "system", field="status", to="open"),
        _ev(10, "escalated", jst(14, 10), "agent:sato", department="warehouse"),
        _ev(11, "rule_fired", jst(14, 14), "system:sweep", rule_id="r", actions=[{"type": "return_to_queue"}]),
        _ev(12, "status_changed", jst(15, 10), "agent:tanaka", field="status", to="solved"),
    ]


def _info(**over) -> facts.TicketInfo:
    values = {"number": 7, "channel": "form", "category": "billing", "calendar": OFFICE, "policy": POLICY,
              "policy_id": "p", "previous_contact_days": 2.5}
    return facts.TicketInfo(**{**values, **over})


def test_facts_of_a_timeline_in_calendar_and_business_time():
    got = facts.extract(_timeline(), _info(), jst(9, 0), jst(16, 0))
    kinds = [(f.kind, f.at.astimezone(JST).strftime("%d %H:%M")) for f in got.facts]
    assert kinds == [("message_in", "09 17:00"), ("created", "09 17:00"), ("sla", "13 11:30"), ("reply", "13 12:00"),
                     ("first_response", "13 12:00"), ("sla", "13 12:00"), ("solved", "13 12:00"),
                     ("message_in", "14 09:00"), ("reopened", "14 09:00"), ("escalated", "14 10:00"),
                     ("escalation_closed", "14 14:00"), ("sla", "15 10:00"), ("solved", "15 10:00")]
    by_kind = {f.kind: f for f in got.facts}
    first = by_kind["first_response"]
    # Fri 17:00 -> Tue 12:00: 91 h calendar; business Fri 17:00-18:30 (90) + Tue 09:30-12:00 (150).
    assert (first.minutes, first.business_minutes, first.agent) == (5460.0, 240.0, "sato")
    slas = [(f.metric, f.outcome) for f in got.facts if f.kind == "sla"]
    # The late reply is not counted again; the message of the 14th starts a next reply that the solve stops.
    assert slas == [("first_reply", "breached"), ("resolution", "met"), ("next_reply", "met")]
    assert by_kind["created"].agent == "sato" and by_kind["created"].previous_contact_days == 2.5
    closed = by_kind["escalation_closed"]
    assert (closed.outcome, closed.department, closed.minutes, closed.business_minutes) == (
        "returned", "warehouse", 240.0, 240.0)
    assert got.status == "solved" and got.status_at(jst(14, 12)) == "open"


def test_window_keeps_only_its_facts_and_reports_the_status_at_its_end():
    got = facts.extract(_timeline(), _info(), jst(14, 0), jst(15, 0))
    assert [f.kind for f in got.facts] == ["message_in", "reopened", "escalated", "escalation_closed"]
    assert got.status == "open" and got.created_at == jst(9, 17)
    assert facts.extract(_timeline(), _info(), jst(1, 0), jst(2, 0)).status is None  # not arrived yet


def test_fact_rows_round_trip_compactly():
    fact = facts.Fact("first_response", 7, jst(13, 12), agent="sato", minutes=12.5, business_minutes=10.0)
    row = fact.to_row()
    assert row[-1] == 10.0 and len(row) == 9
    assert facts.Fact.from_row(row) == fact


def test_backlog_rolls_forward_and_buckets_by_age():
    snap = backlog.roll({}, [(1, "open", jst(5, 10)), (2, "new", jst(13, 10)), (3, "solved", jst(13, 11))])
    assert set(snap) == {1, 2}
    snap = backlog.roll(snap, [(1, "solved", jst(5, 10)), (4, "pending", jst(12, 9))])
    summary = backlog.summarize(snap, jst(14, 0))
    assert summary["total"] == 2 and summary["by_status"]["new"] == 1 and summary["by_status"]["pending"] == 1
    assert summary["by_age"] == {"<1d": 1, "1-3d": 1, "3-7d": 0, "7d+": 0}
    assert backlog.from_rows(backlog.to_rows(snap)) == snap


def test_report_groups_and_csv():
    got = facts.extract(_timeline(), _info(), jst(9, 0), jst(16, 0))
    day = report.DayData(day=date(2026, 1, 15), facts=got.facts, backlog={}, as_of=jst(16, 0))
    body = report.build([day], group_by="agent")
    assert [g["group"] for g in body["groups"]] == ["(none)", "sato", "tanaka"]  # arrival before assignment
    assert body["totals"]["resolution_rate"] == 1.0 and body["totals"]["reopen_rate"] == 1.0
    assert body["totals"]["repeat_contact_rate"] == 1.0  # 2.5 days <= 7
    assert report.build([day], repeat_days=2)["totals"]["repeat_contact_rate"] == 0.0
    rows = list(csv.DictReader(io.StringIO(report.to_csv(body))))
    assert {"group", "kpi", "value"} <= set(rows[0])
    assert any(r["group"] == "tanaka" and r["kpi"] == "tickets_solved" and r["value"] == "1" for r in rows)
    with pytest.raises(ValueError):
        report.build([day], group_by="weather")


def test_kpi_core_imports_no_aws():
    code = ("import chalicelib.kpi.report, chalicelib.kpi.facts, chalicelib.kpi.backlog, sys; "
            "print(','.join(sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore', 'pynamodb', "
            "'chalice'})))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
