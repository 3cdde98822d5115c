"""SLA clocks on live tickets and the per-minute sweep: due at the right business minute,
warnings and breaches fire exactly once, even with concurrent or repeated sweeps."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain import DeliveryResult
from chalicelib.hookspecs import hookimpl
from chalicelib.plugin_manager import get_plugin_manager
from chalicelib.services.sweep import sweep
from tests.functional.conftest import auth, form_json, sample_form

JST = ZoneInfo("Asia/Tokyo")
# Friday 2026-01-09 16:00 JST; Monday 2026-01-12 is 成人の日 (a national holiday).
FRIDAY_1600 = datetime(2026, 1, 9, 16, 0, tzinfo=JST)


class CapturingEmail:
    """A stand-in email target that records what it would have sent."""

    def __init__(self) -> None:
        self.sent: list = []

    @hookimpl
    def helpdesk_notification_targets(self):
        return ["email"]

    @hookimpl
    def helpdesk_notify(self, notification, get_secret):
        if notification.target != "email":
            return None
        self.sent.append(notification)
        return DeliveryResult(delivered=True, detail="captured")


@pytest.fixture
def email():
    pm = get_plugin_manager()
    plugin = CapturingEmail()
    pm.register(plugin)
    yield plugin
    pm.unregister(plugin)


@pytest.fixture
def clock(monkeypatch):
    state = {"now": FRIDAY_1600.astimezone(timezone.utc)}
    for target in ("chalicelib.api.webhooks.utcnow", "chalicelib.api.tickets.utcnow"):
        monkeypatch.setattr(target, lambda: state["now"])
    return state


def _ticket(client, number: int) -> dict:
    resp = client.http.get(f"/tickets/{number}", headers=auth())
    assert resp.status_code == 200, resp.body
    return resp.json_body


def _new_low_priority_ticket(client) -> int:
    resp = client.http.post("/webhooks/form", **form_json(sample_form(subject="配送状況の確認", body="いつ届きますか")))
    number = resp.json_body["results"][0]["ticket_id"]
    patch = client.http.patch(f"/tickets/{number}", headers={**auth(), "Content-Type": "application/json"},
                              body=json.dumps({"priority": "low", "assignee": "sato"}))
    assert patch.status_code == 200, patch.body
    return number


def _fired(timeline: list[dict], rule_id: str) -> int:
    return sum(1 for e in timeline if e["type"] == "rule_fired" and e["data"]["rule_id"] == rule_id)


def _jst(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=JST).astimezone(timezone.utc)


def test_friday_ticket_before_holiday_is_due_tuesday_at_the_right_business_minute(client, agents, clock):
    number = _new_low_priority_ticket(client)
    first = _ticket(client, number)["sla"]["metrics"]["first_reply"]
    # low priority: 480 business minutes. Fri 16:00-18:30 = 150, Mon is a holiday,
    # Tue 09:30 + 330 = 15:00 JST.
    assert first["due_at"] == "2026-01-13T06:00:00Z"
    assert first["state"] == "active"
    # The label counts wall-clock time to the deadline: Fri 16:00 -> Tue 15:00.
    assert first["label"] == "残り3日"
    assert first["urgency"] == "ok"


def test_warning_and_breach_fire_exactly_once_under_concurrent_and_repeated_sweeps(client, agents, clock, email):
    number = _new_low_priority_ticket(client)

    assert sweep(_jst(13, 13, 59)).fired == []  # one minute early: nothing
    with ThreadPoolExecutor(max_workers=2) as pool:  # two sweeps at the warning minute, concurrently
        reports = list(pool.map(sweep, [_jst(13, 14, 0)] * 2))
    sweep(_jst(13, 14, 0))  # and a retried run
    assert sum(len(r.fired) for r in reports) == 1

    timeline = _ticket(client, number)["timeline"]
    assert _fired(timeline, "warn-assignee-1h-before-breach") == 1
    warnings = [n for n in email.sent if n.ticket_id == number and "期限が迫っています" in n.subject]
    assert [n.recipient for n in warnings] == ["sato@example.com"]
    assert f"#{number}" in warnings[0].subject

    with ThreadPoolExecutor(max_workers=2) as pool:  # the breach minute, twice concurrently
        list(pool.map(sweep, [_jst(13, 15, 0)] * 2))
    sweep(_jst(13, 15, 1))
    clock["now"] = _jst(13, 15, 1)
    ticket = _ticket(client, number)
    breaches = [e for e in ticket["timeline"] if e["type"] == "sla_breached"]
    assert [b["data"]["metric"] for b in breaches] == ["first_reply"]
    assert _fired(ticket["timeline"], "notify-manager-on-breach") == 1
    manager_mail = [n for n in email.sent if n.recipient == "kato.manager@example.com"]
    assert len(manager_mail) == 1
    assert "sla-breached" in ticket["tags"]
    assert ticket["sla"]["metrics"]["first_reply"]["urgency"] == "breached"


def test_at_risk_and_breached_views(client, agents, clock, email):
    number = _new_low_priority_ticket(client)

    def view(name: str, at: datetime, window: int = 60) -> list[int]:
        clock["now"] = at
        resp = client.http.get(f"/tickets?view={name}&window={window}", headers=auth())
        assert resp.status_code == 200, resp.body
        return [t["id"] for t in resp.json_body["tickets"]]

    assert view("at_risk", _jst(13, 13, 0)) == []
    assert view("at_risk", _jst(13, 14, 30)) == [number]
    assert view("breached", _jst(13, 14, 30)) == []
    assert view("breached", _jst(13, 15, 1)) == [number]
    listed = client.http.get("/tickets?view=breached", headers=auth()).json_body["tickets"][0]
    assert listed["sla"]["metrics"]["first_reply"]["label"].endswith("超過")


def test_pending_pauses_the_clock_and_moves_the_deadline(client, agents, clock):
    number = _new_low_priority_ticket(client)
    headers = {**auth(), "Content-Type": "application/json"}
    clock["now"] = _jst(9, 17, 0)  # Friday 17:00: 60 business minutes used
    client.http.patch(f"/tickets/{number}", headers=headers, body=json.dumps({"status": "pending"}))
    paused = _ticket(client, number)["sla"]["metrics"]["first_reply"]
    assert paused["state"] == "paused" and paused["due_at"] is None

    clock["now"] = _jst(13, 10, 0)  # Tuesday 10:00: back to open
    client.http.patch(f"/tickets/{number}", headers=headers, body=json.dumps({"status": "open"}))
    first = _ticket(client, number)["sla"]["metrics"]["first_reply"]
    # 480 - 60 used = 420 business minutes from Tue 10:00 -> Tue 17:00 JST (08:00 UTC).
    assert first["due_at"] == "2026-01-13T08:00:00Z"
    timeline = _ticket(client, number)["timeline"]
    # new -> open on the agent's first change, then pending and back.
    assert [e["data"]["to"] for e in timeline if e["type"] == "status_changed"] == ["open", "pending", "open"]


def test_sweep_reads_only_due_tickets_from_the_index(client, agents, clock, monkeypatch):
    from chalicelib.store import views

    for i in range(5):
        client.http.post("/webhooks/form", **form_json(sample_form(submission_id=f"n{i}", subject=f"質問 {i}",
                                                                    body="在庫はありますか")))
    scanned: list = []
    from chalicelib.store.models import TicketItem

    monkeypatch.setattr(TicketItem, "scan", classmethod(lambda cls, *a, **k: scanned.append(1) or iter(())))
    assert views.due_ticket_numbers(_jst(9, 16, 30), 8) == []
    due = views.due_ticket_numbers(_jst(9, 18, 30), 8)
    assert sorted(due) == [1, 2, 3, 4, 5]
    assert scanned == []
