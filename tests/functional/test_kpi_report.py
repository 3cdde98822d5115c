"""KPIs from a known history, asserted against hand-computed values (calendar and business time).

Four days on the Tokyo office calendar (Mon-Fri 09:30-18:30 JST), every step
through the API with a frozen clock (times JST; normal priority, policy
``sla-default``: first reply 120, next reply 1440, resolution 2880 business minutes):

Tue 01-13  10:00 T1 arrives (customer A, billing)      10:30 sato replies T1
           11:00 T2 arrives (customer B, shipping)     11:30 T2 assigned to tanaka
           12:00 sato escalates T2 to warehouse        13:00 sweep: T2 first reply breached (due 13:00)
           14:00 warehouse answers T2 (internal)       15:00 tanaka replies T2, solved
           17:00 T3 arrives (customer C, billing)      18:00 customer A writes again on T1
Wed 01-14  09:00 T4 arrives (customer A again, billing: a repeat contact 23 h after T1)
           09:50 sato replies T3                       10:30 sato replies T1, solved
           11:00 sato replies T4, pending              14:00 customer B writes on T2: reopened
           15:00 tanaka replies T2, solved
Thu 01-15  10:00 T5 arrives (customer D, shipping)     10:30 sato escalates T5 to warehouse, 60 min
           11:30 sweep: unanswered escalation returned 11:45 sato replies T5
           16:00 customer A writes on T4 (pending -> open)
Fri 01-16  10:00 sato replies T4, solved               report at 12:00 (Fri is today: live)
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from chalicelib import background
from chalicelib.domain import InboundMessage, Sender, SendResult
from chalicelib.hookspecs import hookimpl
from chalicelib.plugin_manager import get_plugin_manager
from chalicelib.services import kpis
from chalicelib.services.sweep import sweep
from chalicelib.store import agents as agent_store
from tests.functional.conftest import OTHER_TOKEN, auth, make_supervisor
from tests.functional.test_sla_sweep import CapturingEmail

JST = ZoneInfo("Asia/Tokyo")
JSON = {"Content-Type": "application/json"}
SATO, TANAKA = auth(), auth(OTHER_TOKEN)


class KpiChat:
    """Channel ``kpichat``: like the test chat, with a category; sends are recorded. A message with
    ``"mailed": true`` comes from an email identity (how an escalation contact's mailed answer arrives)."""

    def __init__(self) -> None:
        self.sent: list = []

    @hookimpl
    def helpdesk_channels(self):
        return ["kpichat"]

    @hookimpl
    def helpdesk_verify_inbound(self, channel, request, get_secret, now):
        return True if channel == "kpichat" else None

    @hookimpl
    def helpdesk_parse_inbound(self, channel, request, now):
        if channel != "kpichat":
            return None
        d = json.loads(request.body)
        return [InboundMessage(channel="kpichat", dedupe_key=f"kpichat:{d['id']}",
                               sender=Sender("email" if d.get("mailed") else "kpichat",
                                             d["email"] if d.get("mailed") else d["user"], name=d["name"],
                                             email=d["email"]),
                               subject=d.get("subject", "お問い合わせ"), body_text=d["text"], received_at=now,
                               category=d.get("category"), thread_key=d.get("conversation"),
                               ticket_hint=d.get("hint"), message_ids=(d["id"],))]

    @hookimpl
    def helpdesk_send_message(self, message, get_secret):
        if message.channel != "kpichat":
            return None
        self.sent.append(message)
        return SendResult(provider_message_id=f"kpi-out-{len(self.sent)}")


CUSTOMERS = {"A": ("u-a", "山田 花子", "hanako@example.jp"), "B": ("u-b", "佐々木 一郎", "ichiro@example.jp"),
             "C": ("u-c", "中村 さくら", "sakura@example.jp"), "D": ("u-d", "小林 健", "ken@example.jp")}


def jst(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=JST).astimezone(timezone.utc)


@pytest.fixture
def history(client, agents, monkeypatch):
    """Seed the history above; returns (clock state, ticket numbers by name)."""
    pm = get_plugin_manager()
    chat, mail = KpiChat(), CapturingEmail()
    pm.register(chat)
    pm.register(mail)
    try:
        state = {"now": jst(13, 10)}
        for target in ("chalicelib.api.webhooks.utcnow", "chalicelib.api.tickets.utcnow", "chalicelib.api.agent.utcnow",
                       "chalicelib.api.escalations.utcnow", "chalicelib.api.reports.utcnow"):
            monkeypatch.setattr(target, lambda: state["now"])
        n: dict[str, int] = {}
        seq = iter(range(1000))

        def at(day: int, hour: int, minute: int = 0) -> None:
            state["now"] = jst(day, hour, minute)

        def says(who: str, conversation: str, text: str, category: str | None = None) -> int:
            user, name, email = CUSTOMERS[who]
            resp = client.http.post("/webhooks/kpichat", headers=JSON, body=json.dumps(
                {"id": f"m{next(seq)}", "user": user, "name": name, "email": email, "text": text,
                 "conversation": conversation, "category": category, "subject": "ご注文の件"}))
            assert resp.status_code in (200, 201), resp.body
            return resp.json_body["results"][0]["ticket_id"]

        def reply(name: str, who: dict, text: str, status: str = "open") -> None:
            timeline = client.http.get(f"/tickets/{n[name]}", headers=who).json_body["timeline"]
            resp = client.http.post(f"/tickets/{n[name]}/replies", headers={**who, **JSON}, body=json.dumps(
                {"body": text, "last_seen_event_id": timeline[-1]["id"], "status": status}))
            assert resp.status_code == 201, resp.body

        def escalate(name: str, due_minutes: int) -> None:
            resp = client.http.post(f"/tickets/{n[name]}/escalations", headers={**SATO, **JSON}, body=json.dumps(
                {"department": "warehouse", "contact": "suzuki", "note": "出荷状況を確認してください",
                 "due_minutes": due_minutes}))
            assert resp.status_code == 201, resp.body

        at(13, 10)
        n["T1"] = says("A", "c-1", "注文した商品の配送日を教えてください", "billing")
        at(13, 10, 30)
        reply("T1", SATO, "山田様\n\nお問い合わせありがとうございます。確認いたします。")
        at(13, 11)
        n["T2"] = says("B", "c-2", "荷物がまだ届きません", "shipping")
        at(13, 11, 30)
        make_supervisor()  # reassigning is a supervisor's (chalicelib.roles); Sato is one for this step only
        resp = client.http.patch(f"/tickets/{n['T2']}", headers={**SATO, **JSON},
                                 body=json.dumps({"assignee": "tanaka"}))
        assert resp.status_code == 200, resp.body
        agent_store.upsert_agent("sato", name="Sato", email="sato@example.com", department="support")
        at(13, 12)
        escalate("T2", 240)
        sweep(jst(13, 13))
        at(13, 14)
        resp = client.http.post("/webhooks/kpichat", headers=JSON, body=json.dumps(
            {"id": "w1", "user": "suzuki", "name": "鈴木", "email": "suzuki.warehouse@example.com", "hint": n["T2"],
             "mailed": True, "text": "本日出荷済みです。追跡番号 1234-5678"}))
        assert resp.json_body["results"][0]["ticket_id"] == n["T2"]
        at(13, 15)
        reply("T2", TANAKA, "佐々木様\n\n本日出荷いたしました。追跡番号は 1234-5678 です。", "solved")
        at(13, 17)
        n["T3"] = says("C", "c-3", "領収書の宛名を変更できますか", "billing")
        at(13, 18)
        assert says("A", "c-1", "追加で質問です。ギフト包装はできますか") == n["T1"]

        at(14, 9)
        n["T4"] = says("A", "c-4", "別の注文についても確認させてください", "billing")
        at(14, 9, 50)
        reply("T3", SATO, "中村様\n\n変更できます。新しい宛名をお知らせください。")
        at(14, 10, 30)
        reply("T1", SATO, "山田様\n\nギフト包装も承っております。", "solved")
        at(14, 11)
        reply("T4", SATO, "山田様\n\n注文番号をお知らせいただけますか。", "pending")
        at(14, 14)
        assert says("B", "c-2", "届いた商品の色が違いました") == n["T2"]
        at(14, 15)
        reply("T2", TANAKA, "佐々木様\n\n交換品を手配いたしました。", "solved")

        at(15, 10)
        n["T5"] = says("D", "c-5", "配送先を変更したいです", "shipping")
        at(15, 10, 30)
        escalate("T5", 60)
        sweep(jst(15, 11, 30))
        at(15, 11, 45)
        reply("T5", SATO, "小林様\n\n配送先の変更を承りました。")
        at(15, 16)
        assert says("A", "c-4", "注文番号は B-2002 です") == n["T4"]

        at(16, 10)
        reply("T4", SATO, "山田様\n\n確認いたしました。本日発送いたします。", "solved")
        at(16, 12)
        yield state, n
    finally:
        pm.unregister(chat)
        pm.unregister(mail)


def _report(client, query: str = "") -> dict:
    resp = client.http.get(f"/reports/kpis?from=2026-01-13&to=2026-01-16{query}", headers=SATO)
    assert resp.status_code == 200, resp.body
    return resp.json_body


def _sla(block: dict) -> dict:
    return {(r["policy"], r["metric"]): (r["met"], r["breached"], r["attainment"]) for r in block["sla"]}


def test_every_kpi_matches_the_hand_computed_values(client, history):
    _state, n = history
    first = _report(client)  # nothing aggregated yet: the report says so at once, it computes nothing
    assert first["pending"] == ["2026-01-13", "2026-01-14", "2026-01-15", "2026-01-16"] and not first["complete"]
    assert first["daily"] == [] and first["backlog"] is None and first["totals"]["tickets_created"] == 0
    kpis.aggregate_recent(_state["now"], days=3)  # the hourly job (three closed days, and today so far)
    report = _report(client)
    assert report["source"]["days"] == {"aggregate": 3, "partial": 1} and report["complete"]
    first = report
    assert report["totals"] == first["totals"]
    assert [{**d, "source": 0} for d in report["daily"]] == [{**d, "source": 0} for d in first["daily"]]
    assert report["timezone"] == "Asia/Tokyo"
    tot = report["totals"]

    assert tot["tickets_created"] == 5
    assert tot["messages_in"] == 8  # the warehouse's internal answer is not a customer message
    assert tot["replies"] == 8  # agents' replies only, no auto-acknowledgements
    # First response, calendar: T1 30, T5 105, T4 120 (Wed 09:00 -> 11:00), T2 240, T3 1010 (Tue 17:00 -> Wed 09:50).
    assert tot["first_response"]["calendar"] == {"count": 5, "mean": 301.0, "median": 120.0, "p90": 1010.0}
    # Business: T1 30, T4 90 (office opens 09:30), T5 105, T3 110 (Tue 17:00-18:30 + Wed 09:30-09:50), T2 240.
    assert tot["first_response"]["business"] == {"count": 5, "mean": 115.0, "median": 105.0, "p90": 240.0}
    # Resolutions (each solve): T2 Tue 11:00->15:00 (240/240), T1 Tue 10:00->Wed 10:30 (1470/570),
    # T2 again Tue 11:00->Wed 15:00 (1680/780), T4 Wed 09:00->Fri 10:00 (2940/1110).
    assert tot["resolution"]["calendar"] == {"count": 4, "mean": 1582.5, "median": 1575.0, "p90": 2940.0}
    assert tot["resolution"]["business"] == {"count": 4, "mean": 675.0, "median": 675.0, "p90": 1110.0}
    assert tot["tickets_solved"] == 3 and tot["tickets_reopened"] == 1
    assert tot["resolution_rate"] == 0.6  # T1, T2, T4 of five; T3 and T5 still open
    assert tot["reopen_rate"] == 0.3333  # T2 of T1, T2, T4
    assert tot["repeat_contact_rate"] == 0.2  # T4: customer A again within 7 days
    assert _sla(tot) == {("sla-default", "first_reply"): (4, 1, 0.8), ("sla-default", "next_reply"): (3, 0, 1.0),
                         ("sla-default", "resolution"): (3, 0, 1.0)}
    assert tot["sla_attainment"] == 0.9091  # 10 of 11

    assert report["escalations"] == [{
        "department": "warehouse", "escalated": 2, "answered": 1, "returned": 1, "return_rate": 0.5,
        "response": {"calendar": {"count": 1, "mean": 120.0, "median": 120.0, "p90": 120.0},
                     "business": {"count": 1, "mean": 120.0, "median": 120.0, "p90": 120.0}}}]
    assert report["backlog"] == {"as_of": "2026-01-16T03:00:00Z", "total": 2,
                                 "by_status": {"new": 0, "open": 2, "pending": 0, "on-hold": 0},
                                 "by_age": {"<1d": 0, "1-3d": 2, "3-7d": 0, "7d+": 0}}
    daily = {d["day"]: d for d in report["daily"]}
    assert [daily[d]["backlog"] for d in sorted(daily)] == [2, 2, 3, 2]
    assert [daily[d]["tickets_created"] for d in sorted(daily)] == [3, 1, 1, 0]
    assert [daily[d]["tickets_solved"] for d in sorted(daily)] == [1, 2, 0, 1]
    assert [daily[d]["first_response_median_business_minutes"] for d in sorted(daily)] == [135.0, 100.0, 105.0, None]
    assert [daily[d]["first_response_median_minutes"] for d in sorted(daily)] == [135.0, 565.0, 105.0, None]
    assert [daily[d]["sla_attainment"] for d in sorted(daily)] == [0.6667, 1.0, 1.0, 1.0]
    assert daily["2026-01-16"]["source"] == "partial"  # the job's "today so far"


def test_breakdowns_by_agent_category_and_channel(client, history):
    kpis.aggregate_recent(history[0]["now"], days=3)
    by_agent = {g["group"]: g for g in _report(client, "&group_by=agent")["groups"]}
    assert by_agent["sato"]["first_response"]["business"] == {"count": 4, "mean": 83.75, "median": 97.5,
                                                              "p90": 110.0}
    assert by_agent["tanaka"]["first_response"]["business"]["median"] == 240.0
    assert by_agent["sato"]["replies"] == 6 and by_agent["tanaka"]["replies"] == 2
    assert by_agent["tanaka"]["tickets_created"] == 1  # T2, assigned the day it arrived
    assert by_agent["(none)"]["tickets_created"] == 4
    assert by_agent["tanaka"]["tickets_solved"] == 1 and by_agent["tanaka"]["tickets_reopened"] == 1
    by_category = {g["group"]: g for g in _report(client, "&group_by=category")["groups"]}
    assert by_category["billing"]["first_response"]["business"]["median"] == 90.0  # 30, 90, 110
    assert by_category["shipping"]["first_response"]["business"]["median"] == 172.5  # 105, 240
    assert by_category["billing"]["repeat_contact_rate"] == 0.3333
    assert by_category["shipping"]["resolution_rate"] == 0.5
    by_channel = _report(client, "&group_by=channel")["groups"]
    assert [(g["group"], g["tickets_created"]) for g in by_channel] == [("kpichat", 5)]
    by_dept = {g["group"]: g for g in _report(client, "&group_by=department")["groups"]}
    assert by_dept["warehouse"]["first_response"]["business"]["count"] == 1  # T2, answered while escalated


def test_csv_and_the_same_numbers_from_every_event(client, history):
    kpis.aggregate_recent(history[0]["now"], days=3)
    resp = client.http.get("/reports/kpis?from=2026-01-13&to=2026-01-16&format=csv", headers=SATO)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.body.decode("utf-8-sig"))))
    values = {(r["group"], r["kpi"]): r["value"] for r in rows}
    assert values[("(all)", "first_response.business.median")] == "105.0"
    assert values[("(all)", "resolution.calendar.p90")] == "2940.0"
    assert values[("(all)", "sla.sla-default.first_reply.attainment")] == "0.8"
    assert values[("(all)", "escalation.warehouse.return_rate")] == "0.5"
    assert values[("(all)", "backlog.by_status.open")] == "2"
    accepted = client.http.get("/reports/kpis?from=2026-01-13&to=2026-01-16", headers={**SATO, "Accept": "text/csv"})
    assert accepted.headers["Content-Type"].startswith("text/csv")

    now = history[0]["now"]
    from_aggregates = kpis.report(date(2026, 1, 13), date(2026, 1, 16), now)
    from_events = kpis.report_from_events(date(2026, 1, 13), date(2026, 1, 16), now)
    for key in ("totals", "backlog", "escalations"):
        assert from_aggregates[key] == from_events[key], key
    assert [{**d, "source": None} for d in from_aggregates["daily"]] == \
           [{**d, "source": None} for d in from_events["daily"]]


def test_report_needs_a_token_and_valid_parameters(client, history):
    assert client.http.get("/reports/kpis").status_code == 401
    assert client.http.get("/reports/kpis?group_by=weather", headers=SATO).status_code == 400
    assert client.http.get("/reports/kpis?from=2026-13-01", headers=SATO).status_code == 400
    assert client.http.get("/reports/kpis?from=2026-01-16&to=2026-01-13", headers=SATO).status_code == 400
    assert client.http.post("/reports/aggregates", headers={**SATO, **JSON},
                            body=json.dumps({"from": "2026-01-13", "to": "2026-01-15"})).status_code == 403
    from chalicelib.store import agents as store

    store.upsert_agent("kato", name="Kato", role="supervisor")
    store.issue_token("kato", history[0]["now"], "supervisor-token")
    assert _report(client)["pending"] == ["2026-01-13", "2026-01-14", "2026-01-15", "2026-01-16"]
    rebuilt = client.http.post("/reports/aggregates", headers={**auth("supervisor-token"), **JSON},
                               body=json.dumps({"from": "2026-01-13", "to": "2026-01-16"}))
    assert rebuilt.status_code == 202, rebuilt.body  # queued: answered at once, built asynchronously
    assert rebuilt.json_body == {"queued": True, "from": "2026-01-13", "to": "2026-01-15", "days": 3,
                                 "runs": "thread"}  # today is never rebuilt (the job keeps it)
    assert background.wait(120)
    assert _report(client)["pending"] == ["2026-01-16"]  # the closed days are built; today waits for the job


def test_escalated_view_and_claim_on_the_ticket(client, agents, monkeypatch):
    pm = get_plugin_manager()
    chat, mail = KpiChat(), CapturingEmail()
    pm.register(chat)
    pm.register(mail)
    now = jst(13, 10)
    for target in ("chalicelib.api.webhooks.utcnow", "chalicelib.api.tickets.utcnow", "chalicelib.api.agent.utcnow",
                   "chalicelib.api.escalations.utcnow"):
        monkeypatch.setattr(target, lambda: now)
    try:
        resp = client.http.post("/webhooks/kpichat", headers=JSON, body=json.dumps(
            {"id": "e1", "user": "u-e", "name": "加藤", "email": "kato@example.jp", "text": "届きません"}))
        number = resp.json_body["results"][0]["ticket_id"]
        client.http.post(f"/tickets/{number}/escalations", headers={**SATO, **JSON}, body=json.dumps(
            {"department": "warehouse", "note": "確認お願いします"}))
        listed = client.http.get("/tickets?view=escalated", headers=SATO).json_body["tickets"]
        assert [(t["id"], t["escalation"]["department"], t["escalation"]["due_at"]) for t in listed] == \
               [(number, "warehouse", "2026-01-13T05:00:00Z")]
        client.http.post(f"/tickets/{number}/claim", headers={**SATO, **JSON}, body="{}")
        ticket = client.http.get(f"/tickets/{number}", headers=TANAKA).json_body
        assert ticket["claim"]["name"] == "Sato" and ticket["claim"]["agent"] == "sato"
        client.http.post(f"/tickets/{number}/escalations/decline", headers={**SATO, **JSON},
                         body=json.dumps({"reason": "担当外"}))
        sweep(now)
        assert client.http.get("/tickets?view=escalated", headers=SATO).json_body["tickets"] == []
    finally:
        pm.unregister(chat)
        pm.unregister(mail)
