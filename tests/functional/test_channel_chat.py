"""Generic website chat: signed deliveries with a replay window, one ticket per conversation, signed callbacks."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest

from tests.conftest import ROOT
from tests.functional.conftest import auth
from tests.functional.http_receiver import receiving

SECRET = "chat-test-secret"
MESSAGE = json.loads((ROOT / "tests" / "events" / "chat_message.json").read_text())
JSON = {"Content-Type": "application/json"}
T0 = datetime(2026, 1, 13, 1, 0, tzinfo=timezone.utc)


@pytest.fixture
def chat(aws, monkeypatch):
    """The chat secret set and the callback URL served by a local receiver."""
    monkeypatch.setenv("CHAT_WEBHOOK_SECRET", SECRET)
    with receiving(lambda req: (200, {"id": f"widget-{req.json()['id']}"})) as widget:
        monkeypatch.setenv("CHAT_CALLBACK_URL", f"{widget.url}/helpdesk/replies")
        yield widget


def message(msg_id: str = "msg-0001", **fields: Any) -> dict[str, Any]:
    """The sample chat message with ``fields`` replaced."""
    return {**copy.deepcopy(MESSAGE), "id": msg_id, **fields}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The documented recipe, independent of the plugin: v1=<hex HMAC-SHA256 of timestamp + "." + body>."""
    return "v1=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signed(doc: dict[str, Any], *, secret: str = SECRET, timestamp: int | None = None,
           tamper: bool = False) -> dict[str, Any]:
    """Request kwargs for a signed chat delivery."""
    body = json.dumps(doc, ensure_ascii=False).encode()
    ts = str(int(time.time()) if timestamp is None else timestamp)
    headers = {**JSON, "X-Chat-Timestamp": ts, "X-Chat-Signature": sign(secret, ts, body)}
    return {"headers": headers, "body": body.replace(b"A-1001", b"A-9999") if tamper else body}


def _deliver(client, doc: dict[str, Any], **kw: Any):
    return client.http.post("/webhooks/chat", **signed(doc, **kw))


def _tickets(client) -> list[dict]:
    return client.http.get("/tickets?view=all&limit=100", headers=auth()).json_body["tickets"]


def _ticket(client, number: int) -> dict:
    return client.http.get(f"/tickets/{number}", headers=auth()).json_body


def test_signed_message_becomes_a_ticket_with_its_attachments(client, agents, chat):
    resp = _deliver(client, message())
    assert resp.status_code == 201, resp.body
    detail = _ticket(client, resp.json_body["results"][0]["ticket_id"])
    assert detail["channel"] == "chat" and detail["subject"] == "クーポンが使えません"
    assert detail["customer"]["identities"] == [{"kind": "chat", "value": "visitor-9"}]
    first = detail["timeline"][0]
    assert first["data"]["body_text"] == MESSAGE["text"]
    assert first["data"]["metadata"]["attachments"] == MESSAGE["attachments"]
    assert first["data"]["metadata"]["conversation_id"] == "conv-42"


@pytest.mark.parametrize("attack", ["tampered-body", "wrong-secret", "stale-timestamp", "future-timestamp",
                                    "unsigned"])
def test_forged_or_replayed_deliveries_are_refused_and_create_nothing(client, agents, chat, aws, attack):
    kwargs = {"tampered-body": {"tamper": True}, "wrong-secret": {"secret": "not-the-secret"},
              "stale-timestamp": {"timestamp": int(time.time()) - 301},
              "future-timestamp": {"timestamp": int(time.time()) + 301}}.get(attack, {})
    request = signed(message(), **kwargs)
    if attack == "unsigned":
        request["headers"].pop("X-Chat-Signature")
    resp = client.http.post("/webhooks/chat", **request)
    assert resp.status_code == 401, resp.body
    assert _tickets(client) == []
    assert boto3.client("s3", region_name=aws["region"]).list_objects_v2(Bucket=aws["bucket"])["KeyCount"] == 0


def test_retries_are_one_message_and_a_conversation_is_one_ticket(client, agents, chat):
    first = _deliver(client, message()).json_body["results"][0]
    again = _deliver(client, message())
    follow = _deliver(client, message("msg-0002", text="追記: 急ぎです", attachments=[])).json_body["results"][0]
    other = _deliver(client, message("msg-0003", conversation_id="conv-43", text="別件")).json_body["results"][0]
    assert again.status_code == 200 and again.json_body["results"][0]["duplicate"]
    assert follow["ticket_id"] == first["ticket_id"] and not follow["created"]
    assert other["created"] and other["ticket_id"] != first["ticket_id"]


def test_bad_messages_are_400_by_field_and_non_messages_ignored(client, agents, chat):
    resp = _deliver(client, {"id": "x", "conversation_id": "c", "sender": {}, "text": 5})
    assert resp.status_code == 400
    assert {e["pointer"] for e in resp.json_body["errors"]} == {"/sender/id", "/text"}
    assert resp.json_body["raw_ref"].startswith("raw/chat/")
    empty = _deliver(client, message(text="  ", attachments=[]))
    assert empty.status_code == 400 and empty.json_body["errors"][0]["pointer"] == "/text"
    typing = _deliver(client, {"type": "typing", "conversation_id": "conv-42"})
    assert typing.status_code == 200 and typing.json_body["results"] == []
    assert _tickets(client) == []


def test_solved_conversation_reopens_within_the_quiet_window_then_starts_anew(client, agents, chat, monkeypatch):
    state = {"now": T0}
    for target in ("chalicelib.api.webhooks.utcnow", "chalicelib.api.tickets.utcnow"):
        monkeypatch.setattr(target, lambda: state["now"])
    monkeypatch.setenv("CHAT_QUIET_WINDOW_S", "600")

    def say(msg_id: str) -> dict:
        return _deliver(client, message(msg_id), timestamp=int(state["now"].timestamp())).json_body["results"][0]

    def solve(number: int) -> None:
        resp = client.http.patch(f"/tickets/{number}", headers={**auth(), **JSON},
                                 body=json.dumps({"status": "solved"}))
        assert resp.status_code == 200, resp.body

    number = say("m1")["ticket_id"]
    solve(number)
    state["now"] = T0 + timedelta(minutes=9)
    assert say("m2")["ticket_id"] == number
    solve(number)
    state["now"] += timedelta(minutes=11)
    later = say("m3")
    assert later["created"] and later["ticket_id"] != number


def test_agent_reply_is_a_signed_callback_the_widget_can_verify(client, agents, chat):
    first = _deliver(client, message()).json_body["results"][0]
    resp = client.http.post(f"/tickets/{first['ticket_id']}/replies", headers={**auth(), **JSON}, body=json.dumps(
        {"body": "山田様\n\nクーポンを再発行しました。", "last_seen_event_id": first["event_id"]}))
    assert resp.status_code == 201, resp.body
    replies = [r for r in chat.requests if not r.json()["auto_reply"]]
    assert len(replies) == 1
    got = replies[0]
    assert got.path == "/helpdesk/replies"
    ts = got.headers["x-chat-timestamp"]
    assert abs(time.time() - int(ts)) < 60
    assert hmac.compare_digest(got.headers["x-chat-signature"], sign(SECRET, ts, got.body))
    from plugins.channel_chat import verify_signature

    assert verify_signature(SECRET, ts, got.headers["x-chat-signature"], got.body, time.time()) is None
    assert verify_signature("other", ts, got.headers["x-chat-signature"], got.body, time.time()) is not None
    doc = got.json()
    assert doc["type"] == "reply" and doc["conversation_id"] == "conv-42" and doc["to"] == {"id": "visitor-9"}
    assert doc["text"] == "山田様\n\nクーポンを再発行しました。" and doc["ticket_id"] == first["ticket_id"]
    assert doc["id"] == resp.json_body["event_id"] == got.headers["x-chat-delivery"]
    assert resp.json_body["provider_message_id"] == f"chat:conv-42:widget-{doc['id']}"
