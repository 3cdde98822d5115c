"""Agents never double-reply, drafts are checked before they reach the customer, notes stay internal."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib.plugin_manager import get_plugin_manager
from tests.functional.conftest import OTHER_TOKEN, auth
from tests.functional.fakes import TestChat

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def chat():
    pm = get_plugin_manager()
    plugin = TestChat()
    pm.register(plugin)
    yield plugin
    pm.unregister(plugin)


def _customer_says(client, msg_id: str, text: str, conversation: str = "c-1") -> dict:
    resp = client.http.post("/webhooks/testchat", headers=JSON, body=json.dumps(
        {"id": msg_id, "user": "u1", "name": "山田 花子", "email": "hanako@example.jp", "conversation": conversation,
         "text": text}))
    assert resp.status_code in (200, 201), resp.body
    return resp.json_body["results"][0]


def _reply(client, number: int, last_seen: str, body: str, token: str = "test-agent-token", **extra):
    return client.http.post(f"/tickets/{number}/replies", headers={**auth(token), **JSON},
                            body=json.dumps({"body": body, "last_seen_event_id": last_seen, **extra}))


def _agent_sent(chat: TestChat) -> list:
    return [m for m in chat.sent if not m.metadata.get("auto_reply")]


def _timeline(client, number: int) -> list[dict]:
    return client.http.get(f"/tickets/{number}", headers=auth()).json_body["timeline"]


def test_two_agents_racing_50_times_send_exactly_one_reply_per_message(client, agents, chat):
    first = _customer_says(client, "m0", "こんにちは")
    number = first["ticket_id"]
    losers = 0
    for i in range(50):
        seen = first["event_id"] if i == 0 else _customer_says(client, f"m{i}", f"質問 {i}")["event_id"]
        body = f"山田様\n\n回答 {i}"
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(_reply, [client] * 2, [number] * 2, [seen] * 2, [body] * 2,
                                    ["test-agent-token", OTHER_TOKEN]))
        codes = sorted(r.status_code for r in results)
        assert codes == [201, 409], [r.body for r in results]
        loser = next(r for r in results if r.status_code == 409).json_body
        assert loser["newer_events"][0]["type"] == "message_out"
        losers += 1
    agent_replies = [m for m in chat.sent if not m.metadata.get("auto_reply")]
    assert len(agent_replies) == 50 and losers == 50
    outs = [e for e in _timeline(client, number) if e["type"] == "message_out" and not e["data"].get("auto_reply")]
    assert len(outs) == 50 and all(e["data"]["state"] == "sent" for e in outs)


def test_reply_after_a_newer_customer_message_is_refused_with_it(client, agents, chat):
    first = _customer_says(client, "a1", "質問です")
    _customer_says(client, "a2", "追記: 注文番号は A-1")
    resp = _reply(client, first["ticket_id"], first["event_id"], "山田様\n\n確認します")
    assert resp.status_code == 409
    assert [e["data"]["body_text"] for e in resp.json_body["newer_events"]] == ["追記: 注文番号は A-1"]
    assert _agent_sent(chat) == []


@pytest.mark.parametrize(("body", "check"), [
    ("山田様\n\nご注文番号●●の件でご連絡いたします。", "placeholder"),
    ("佐藤様\n\nお問い合わせありがとうございます。", "wrong_customer_name"),
])
def test_checked_draft_is_refused_with_422_then_sent_with_override_recorded(client, agents, chat, body, check):
    first = _customer_says(client, "p1", "質問です")
    number = first["ticket_id"]
    refused = _reply(client, number, first["event_id"], body)
    assert refused.status_code == 422, refused.body
    assert [p["check"] for p in refused.json_body["problems"]] == [check]
    assert _agent_sent(chat) == []
    assert not [e for e in _timeline(client, number) if e["type"] == "message_out" and not e["data"].get("auto_reply")]

    sent = _reply(client, number, first["event_id"], body, override=True, override_reason="intentional")
    assert sent.status_code == 201, sent.body
    assert [m.body_text for m in _agent_sent(chat)] == [body]
    out = next(e for e in _timeline(client, number) if e["type"] == "message_out" and "agent" in e["data"])
    assert out["data"]["override"] == {"by": "sato", "reason": "intentional"}
    assert out["data"]["checks"][0]["check"] == check


def test_preview_shows_problems_without_sending(client, agents, chat):
    first = _customer_says(client, "v1", "質問です")
    resp = client.http.post(f"/tickets/{first['ticket_id']}/replies/preview", headers={**auth(), **JSON},
                            body=json.dumps({"body": "●●様\n\nありがとうございます"}))
    assert resp.status_code == 200
    assert resp.json_body["blocked"] is True
    assert resp.json_body["problems"][0]["check"] == "placeholder"
    assert _agent_sent(chat) == []


def test_claim_names_the_holder_blocks_others_and_expires(client, agents, chat, monkeypatch):
    from datetime import datetime, timedelta, timezone

    t0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
    clock = {"now": t0}
    for target in ("chalicelib.api.agent.utcnow", "chalicelib.api.tickets.utcnow", "chalicelib.api.webhooks.utcnow"):
        monkeypatch.setattr(target, lambda: clock["now"])
    first = _customer_says(client, "c1", "質問です")
    number = first["ticket_id"]
    taken = client.http.post(f"/tickets/{number}/claim", headers={**auth(), **JSON}, body="{}")
    assert taken.status_code == 200 and taken.json_body["name"] == "Sato"

    other = client.http.post(f"/tickets/{number}/claim", headers={**auth(OTHER_TOKEN), **JSON}, body="{}")
    assert other.status_code == 409
    assert other.json_body["holder"] == "sato" and other.json_body["since"] == "2026-03-02T01:00:00Z"
    assert "Sato is replying" in other.json_body["message"]
    blocked = _reply(client, number, first["event_id"], "山田様\n\nどうぞ", OTHER_TOKEN)
    assert blocked.status_code == 409 and blocked.json_body["holder"] == "sato"
    assert "Sato is replying" in client.http.post(
        f"/tickets/{number}/replies/preview", headers={**auth(OTHER_TOKEN), **JSON},
        body=json.dumps({"body": "x"})).json_body["claim"]["name"] + " is replying"

    clock["now"] = t0 + timedelta(minutes=6)  # the 5-minute lease expired by itself
    assert _reply(client, number, first["event_id"], "山田様\n\nどうぞ", OTHER_TOKEN).status_code == 201


def test_supervisor_can_break_a_claim_and_agents_cannot(client, agents, chat):
    from chalicelib.store import agents as store

    store.upsert_agent("tanaka", name="Tanaka", email="tanaka@example.com", role="supervisor")
    number = _customer_says(client, "s1", "質問")["ticket_id"]
    client.http.post(f"/tickets/{number}/claim", headers={**auth(), **JSON}, body="{}")
    broke = client.http.post(f"/tickets/{number}/claim", headers={**auth(OTHER_TOKEN), **JSON},
                             body=json.dumps({"force": True}))
    assert broke.status_code == 200 and broke.json_body["broke"] == "sato"
    denied = client.http.post(f"/tickets/{number}/claim", headers={**auth(), **JSON}, body=json.dumps({"force": True}))
    assert denied.status_code == 403


def test_first_reply_stops_the_first_reply_clock_and_opens_the_ticket(client, agents, chat):
    first = _customer_says(client, "f1", "質問です")
    number = first["ticket_id"]
    assert _reply(client, number, first["event_id"], "山田様\n\n承知しました", status="pending").status_code == 201
    ticket = client.http.get(f"/tickets/{number}", headers=auth()).json_body
    assert ticket["status"] == "pending"
    assert ticket["sla"]["metrics"]["first_reply"]["state"] in ("achieved", "breached")
    assert ticket["first_replied_at"] is not None
    again = _customer_says(client, "f2", "まだですか")
    ticket = client.http.get(f"/tickets/{number}", headers=auth()).json_body
    assert ticket["status"] == "open", "a customer message reopens a pending ticket"
    assert ticket["sla"]["metrics"]["next_reply"]["state"] == "active"
    assert again["ticket_id"] == number


def test_internal_note_is_not_sent_and_mentions_notify(client, agents, chat):
    sent_notes = []

    class Mail:
        from chalicelib.hookspecs import hookimpl

        @hookimpl
        def helpdesk_notify(self, notification, get_secret):
            if notification.target != "email":
                return None
            sent_notes.append(notification)
            from chalicelib.domain import DeliveryResult

            return DeliveryResult(delivered=True)

    pm = get_plugin_manager()
    mail = Mail()
    pm.register(mail)
    try:
        number = _customer_says(client, "n1", "質問")["ticket_id"]
        resp = client.http.post(f"/tickets/{number}/notes", headers={**auth(), **JSON},
                                body=json.dumps({"body": "@tanaka 倉庫に確認お願いします {{ not a template }}"}))
        assert resp.status_code == 201, resp.body
        assert resp.json_body["data"]["mentions"] == ["tanaka"]
    finally:
        pm.unregister(mail)
    assert _agent_sent(chat) == []
    assert [n.recipient for n in sent_notes] == ["tanaka@example.com"]
    assert "{{ not a template }}" in sent_notes[0].body_text
    timeline = _timeline(client, number)
    assert [e["type"] for e in timeline if e["type"] == "note"] == ["note"]


def test_reply_template_is_personalised_with_customer_and_order_fields(client, agents):
    from tests.functional.conftest import form_json, sample_form

    created = client.http.post("/webhooks/form", **form_json(sample_form(subject="発送はいつですか",
                                                                          body="まだ届きません",
                                                                          order_number="A-1001")))
    number = created.json_body["results"][0]["ticket_id"]
    resp = client.http.post(f"/tickets/{number}/replies/preview", headers={**auth(), **JSON},
                            body=json.dumps({"template": "order-shipped", "vars": {"tracking_number": "1234-5678"}}))
    assert resp.status_code == 200, resp.body
    body = resp.json_body["body"]
    assert body.startswith("山田 花子 様")
    assert "ご注文番号 A-1001" in body and "お問い合わせ番号: 1234-5678" in body and "Sato" in body
    assert resp.json_body["problems"] == []
    unknown = client.http.post(f"/tickets/{number}/replies/preview", headers={**auth(), **JSON},
                               body=json.dumps({"template": "no-such-template"}))
    assert unknown.status_code == 400 and unknown.json_body["errors"][0]["field"] == "template"
