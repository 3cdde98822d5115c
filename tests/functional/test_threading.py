"""Follow-up messages join their ticket; solved tickets reopen; closed ones start anew."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.plugin_manager import get_plugin_manager
from tests.functional.conftest import auth
from tests.functional.fakes import TestChat

T0 = datetime(2026, 1, 13, 1, 0, tzinfo=timezone.utc)  # Tuesday 10:00 JST


@pytest.fixture
def chat():
    pm = get_plugin_manager()
    plugin = TestChat()
    pm.register(plugin)
    yield plugin
    pm.unregister(plugin)


@pytest.fixture
def clock(monkeypatch):
    state = {"now": T0}
    for target in ("chalicelib.api.webhooks.utcnow", "chalicelib.api.tickets.utcnow"):
        monkeypatch.setattr(target, lambda: state["now"])
    return state


def _send(client, **d) -> dict:
    resp = client.http.post("/webhooks/testchat", headers={"Content-Type": "application/json"}, body=json.dumps(d))
    assert resp.status_code in (200, 201), resp.body
    return resp.json_body["results"][0]


def _patch(client, number, **fields):
    resp = client.http.patch(f"/tickets/{number}", headers={**auth(), "Content-Type": "application/json"},
                             body=json.dumps(fields))
    assert resp.status_code == 200, resp.body
    return resp.json_body


def test_conversation_messages_join_one_ticket_and_retries_add_nothing(client, agents, chat, clock):
    first = _send(client, id="m1", conversation="c-1", user="u1", text="こんにちは")
    second = _send(client, id="m2", conversation="c-1", user="u1", text="注文について")
    again = _send(client, id="m2", conversation="c-1", user="u1", text="注文について")
    other = _send(client, id="m3", conversation="c-2", user="u1", text="別件")
    assert first["created"] and not second["created"] and second["ticket_id"] == first["ticket_id"]
    assert again["duplicate"] and again["event_id"] == second["event_id"]
    assert other["ticket_id"] != first["ticket_id"]
    timeline = client.http.get(f"/tickets/{first['ticket_id']}", headers=auth()).json_body["timeline"]
    assert [e["data"]["body_text"] for e in timeline if e["type"] == "message_in"] == ["こんにちは", "注文について"]


def test_reply_references_and_quoted_number_thread_but_not_for_another_customer(client, agents, chat, clock):
    t = _send(client, id="<a@x>", user="u1", text="最初")["ticket_id"]
    assert _send(client, id="<b@x>", user="u1", text="返信", refs=["<zzz@x>", "<a@x>"])["ticket_id"] == t
    assert _send(client, id="<c@x>", user="u1", text="番号つき", hint=t)["ticket_id"] == t
    assert _send(client, id="<d@x>", user="intruder", text="他人", hint=t)["ticket_id"] != t


def test_same_subject_from_same_customer_joins_recent_active_ticket(client, agents, chat, clock):
    t = _send(client, id="s1", user="u9", subject="注文 A-1 の配送", text="1", match_subject=True)["ticket_id"]
    again = _send(client, id="s2", user="u9", subject="Re: 注文  A-1 の配送", text="2", match_subject=True)
    assert again["ticket_id"] == t


def test_customer_message_reopens_solved_ticket_but_closed_starts_a_new_one(client, agents, chat, clock):
    t = _send(client, id="r1", conversation="c-9", user="u2", text="質問")["ticket_id"]
    _patch(client, t, status="solved")
    clock["now"] = T0 + timedelta(hours=1)
    assert _send(client, id="r2", conversation="c-9", user="u2", text="まだ届きません")["ticket_id"] == t
    ticket = client.http.get(f"/tickets/{t}", headers=auth()).json_body
    assert ticket["status"] == "open"
    _patch(client, t, status="closed")
    assert _send(client, id="r3", conversation="c-9", user="u2", text="別の質問")["ticket_id"] != t


def test_quiet_window_after_solving_starts_a_new_ticket(client, agents, chat, clock):
    t = _send(client, id="q1", conversation="c-5", user="u3", text="質問", reopen_window_s=3600)["ticket_id"]
    _patch(client, t, status="solved")
    clock["now"] = T0 + timedelta(minutes=30)
    assert _send(client, id="q2", conversation="c-5", user="u3", text="追加", reopen_window_s=3600)["ticket_id"] == t
    _patch(client, t, status="solved")
    clock["now"] = T0 + timedelta(hours=3)
    later = _send(client, id="q3", conversation="c-5", user="u3", text="新しい件", reopen_window_s=3600)
    assert later["ticket_id"] != t
