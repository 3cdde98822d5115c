"""A Friday-afternoon inquiry played out on the running local stack with the movable clock, in seconds.

``CLOCK=2026-01-09T16:00+09:00`` (a Friday; Monday 12 January is a holiday,
成人の日). Default SLA, normal priority: first reply within 120 business minutes
on the Tokyo calendar (09:30-18:30), so due Friday 18:00 JST, the assignee is warned
at 17:00, the manager mailed at 18:00. Every component follows the one clock:
the ticket's timestamps, the console's remaining-time labels, the sweep, the
outbox, the reply, the KPI days. The stack is stopped with SIGINT at the end.
"""

from __future__ import annotations

import signal
import time
from datetime import datetime, timedelta

import pytest
import requests

from tests.functional.stack_kit import Stack, add_agents, running_stack

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("local_stack")]

START = "2026-01-09T16:00+09:00"
ASSIGNEE = "sato@example.com"
MANAGER = "kato.manager@example.com"  # rules/directory/departments.json: support's manager


FIRST_REPLY_DUE = "2026-01-09 18:00 JST"  # as the templates print the deadline


def _mails_to(stack: Stack, address: str, subject: str) -> list[dict]:
    return [m for m in stack.sent_mail()
            if m["to"] == [address] and subject in m["subject"] and FIRST_REPLY_DUE in m["body"]]


def _warnings(stack: Stack) -> list[dict]:
    """First-reply warnings to the assignee (rules/templates/sla-warning.json)."""
    return _mails_to(stack, ASSIGNEE, "期限が迫っています")


def _breaches(stack: Stack) -> list[dict]:
    """First-reply breach mails to the manager (rules/templates/sla-breached.json)."""
    return _mails_to(stack, MANAGER, "SLA超過")


def _first_reply(stack: Stack, number: int) -> dict:
    ticket = requests.get(f"{stack.url}/tickets/{number}?lang=en", headers=stack.auth, timeout=60).json()
    return ticket["sla"]["metrics"]["first_reply"]


def _advance_to(stack: Stack, local_time: str) -> dict:
    """Jump to a JST wall time (the stack's clock never goes back) and run the due schedules."""
    target = datetime.fromisoformat(local_time)
    now = datetime.fromisoformat(stack.now())
    assert target > now, (target, now)
    return stack.advance((target - now) / timedelta(minutes=1))


def test_friday_1600_form_warning_breach_and_kpis_a_week_later_in_under_a_minute():
    launched = time.monotonic()
    with running_stack(CLOCK=START) as stack:
        started = time.monotonic()
        assert any("moved by CLOCK" in line for line in stack.lines), "the banner says the clock is moved"
        clock_at_ready = datetime.fromisoformat(stack.now())
        assert timedelta(0) <= clock_at_ready - datetime.fromisoformat(START) < timedelta(minutes=2)
        sato = add_agents(stack, ["sato"])["sato"]

        resp = requests.post(f"{stack.url}/webhooks/form", headers=stack.form_headers(), timeout=60, json={
            "name": "山田 花子", "email": "hanako@example.jp", "subject": "配送予定日について",
            "body": "注文番号 A-1001 の配送予定日を教えてください。"})
        assert resp.status_code == 201, resp.text
        number = resp.json()["results"][0]["ticket_id"]
        patched = requests.patch(f"{stack.url}/tickets/{number}", headers=stack.auth, json={"assignee": "sato"},
                                 timeout=60)
        assert patched.status_code == 200, patched.text
        ticket = requests.get(f"{stack.url}/tickets/{number}", headers=stack.auth, timeout=60).json()
        assert ticket["timeline"][0]["at"].startswith("2026-01-09T07:0"), "ingest timestamp on the moved clock"
        due = _first_reply(stack, number)
        assert 115 <= due["business_minutes_remaining"] <= 120, due  # the label the console shows

        _advance_to(stack, "2026-01-09T16:58+09:00")
        assert 61 <= _first_reply(stack, number)["business_minutes_remaining"] <= 64
        assert _warnings(stack) == [], "no warning before 17:00"

        _advance_to(stack, "2026-01-09T17:01+09:00")
        _advance_to(stack, "2026-01-09T17:30+09:00")
        warnings = _warnings(stack)
        assert len(warnings) == 1, warnings
        assert _breaches(stack) == [], "no breach before 18:00"

        _advance_to(stack, "2026-01-09T18:01+09:00")
        _advance_to(stack, "2026-01-09T20:00+09:00")
        breaches = _breaches(stack)
        assert len(breaches) == 1, breaches
        assert len(_warnings(stack)) == 1, "the warning was sent once"
        assert _first_reply(stack, number)["breached"] is True

        # Tuesday 10:00 (Monday is a holiday): Sato answers. 150 + 30 business minutes after the inquiry.
        _advance_to(stack, "2026-01-13T10:00+09:00")
        seen = requests.get(f"{stack.url}/tickets/{number}", headers=stack.auth, timeout=60).json()["timeline"]
        last_in = [e["id"] for e in seen if e["type"] == "message_in"][-1]
        replied = requests.post(f"{stack.url}/tickets/{number}/replies", timeout=60,
                                headers={"Authorization": f"Bearer {sato}"},
                                json={"body": "山田 花子 様\n\nお待たせしました。A-1001 は本日発送いたします。",
                                      "last_seen_event_id": last_in})
        assert replied.status_code == 201, replied.text

        # A week later (in 12-hour steps, so the hourly KPI job aggregates each closed day as it would).
        ran = stack.advance(7 * 24 * 60, step_minutes=12 * 60)["ran"]
        assert {r["job"] for r in ran} >= {"sweep", "dispatch", "kpi_aggregate"} and all(r["ok"] for r in ran)
        report = requests.get(f"{stack.url}/reports/kpis?from=2026-01-09&to=2026-01-16", headers=stack.auth,
                              timeout=120).json()
        totals = report["totals"]
        assert totals["tickets_created"] == 1 and totals["replies"] == 1
        assert 179 <= totals["first_response"]["business"]["median"] <= 180  # Fri 16:00-18:30 + Tue 09:30-10:00
        first_reply_sla = [r for r in totals["sla"] if r["metric"] == "first_reply"]
        assert [(r["met"], r["breached"]) for r in first_reply_sla] == [(0, 1)]
        daily = {d["day"]: d for d in report["daily"]}
        assert daily["2026-01-09"]["tickets_created"] == 1
        days = report["source"]["days"]  # all eight days closed on the moved clock; the job aggregated most
        assert "live" not in days and sum(days.values()) == 8 and days.get("aggregate", 0) >= 5, days
        assert len(_breaches(stack)) == 1 and len(_warnings(stack)) == 1

        real_s = time.monotonic() - started
        stack.proc.send_signal(signal.SIGINT)
        assert stack.proc.wait(5) == 0, "Ctrl-C stops the stack within 5 s"
    print(f"clock story: Friday 16:00 -> a week later in {real_s:.1f} s real time "
          f"({time.monotonic() - launched:.1f} s with start-up and stop)")
    assert real_s < 60
